import { STORE_JVM_USAGE } from './bench-store.js';

/** How long each phase runs. Every phase is bounded by count or by time, so the whole bench is too. */
export interface BenchOptions {
  readonly quick: boolean;
  /** In-flight requests for the throughput phases, on both sides. */
  readonly concurrency: number;
  readonly warmupSeconds: number;
  /**
   * Gateway and raw driver alternate for this many rounds, gateway first in odd rounds and raw first in even
   * ones (ABBA), so drift (JIT, GC, a neighbour's load) hits both sides alike.
   */
  readonly rounds: number;
  readonly roundSeconds: number;
  readonly latencyWarmup: number;
  readonly latencySamples: number;
  /** Stops the sequential phase early (with fewer samples, reported) if the store is far slower than expected. */
  readonly latencyMaxSeconds: number;
  /** Past this the bench stops everything it started and exits 1. */
  readonly hardLimitSeconds: number;
  /** Extra node flags for the gateway child, from BENCH_GATEWAY_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=DIR`). */
  readonly gatewayNodeArgs: readonly string[];
  /** --count-commands: the gateway counts its store commands, at a CPU cost the default deployment does not pay. */
  readonly countCommands: boolean;
}

const USAGE = `Usage: npx tsx bench/run.ts [--quick] [--count-commands]   (npm run bench runs it with the others: bench/all.ts)

Measures the gateway against the raw MongoDB driver, side by side on one store, and prints ratios.
  --quick            shorter phases (~45 s instead of ~1 min 40 s); figures are noisier
  --count-commands   count the gateway's store commands (MONGODB_COMMAND_METRICS=true on the gateway; costs it
                     CPU, so the figures are not the default deployment's)
Environment:
  MONGODB_URI               use this MongoDB instead of starting the embedded store (a fresh database is
                            created for the run and dropped at the end)
  BENCH_GATEWAY_NODE_ARGS   extra node flags for the gateway process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
${STORE_JVM_USAGE}
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  let quick = false;
  let countCommands = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--count-commands') countCommands = true;
    else if (arg === '--help' || arg === '-h') return 'help';
    else throw new UsageError(`Unknown argument "${arg}".\n\n${USAGE}`);
  }
  const gatewayNodeArgs = (env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(/\s+/).filter((arg) => arg !== '');
  const common = { quick, concurrency: 16, gatewayNodeArgs, countCommands };
  // The store's JIT needs ~5 s of a read path before its cost per request settles (measured: C2 compiler
  // threads and interpreted code made the first 3 s of gateway lookups cost the store 4x what later ones did).
  return quick
    ? { ...common, warmupSeconds: 3, rounds: 2, roundSeconds: 2, latencyWarmup: 10, latencySamples: 50, latencyMaxSeconds: 20, hardLimitSeconds: 150 }
    : { ...common, warmupSeconds: 5, rounds: 2, roundSeconds: 5, latencyWarmup: 20, latencySamples: 200, latencyMaxSeconds: 60, hardLimitSeconds: 300 };
}

export { USAGE };
