import { STORE_JVM_USAGE } from './bench-store.js';
import { parseOptions, UsageError, type BenchOptions } from './options.js';

export type InventoryPhase = 'single' | 'batch';
export const INVENTORY_PHASES: readonly InventoryPhase[] = ['single', 'batch'];

export interface InventoryBenchOptions extends BenchOptions {
  /** Start every position with 100 remembered operations, as a busy position has in production. */
  readonly agedPositions: boolean;
  readonly phases: readonly InventoryPhase[];
  /** Also measure the gateway's own store commands sent by the bare driver, to split the gap (inventory-raw-pattern.ts). */
  readonly decompose: boolean;
}

export const INVENTORY_USAGE = `Usage: npx tsx bench/inventory.bench.ts [--quick] [--aged] [--decompose] [--only=single|batch]
       [--count-commands]

Measures adjustInventory through the gateway against the raw MongoDB driver doing the same ledgered,
exactly-once writes (two ways: the floor, and read + compare-and-set), side by side on one store, and prints
ratios (BENCHMARKS.md, "Inventory adjustments").
  --quick         shorter phases (~65 s instead of ~1 min 50 s); figures are noisier
  --aged          start every position with 100 remembered operations (the steady state of a busy position)
                  instead of 1
  --decompose     also send the gateway's own store commands from the bare driver (a fourth side), which
                  splits the gap into what the design costs and what the gateway's software costs (+30% time)
  --only=PHASE    run one phase: single (one item per request) or batch (100 items per request)
  --count-commands
                  count every side's store commands (MONGODB_COMMAND_METRICS=true on the gateway, command
                  monitoring on the raw driver; costs both sides CPU, so the figures are not the default
                  deployment's)
Environment:
  MONGODB_URI               use this MongoDB instead of starting the embedded store (a fresh database is
                            created for the run and dropped at the end)
  BENCH_GATEWAY_NODE_ARGS   extra node flags for the gateway process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
${STORE_JVM_USAGE}
`;

/** The shared durations of the reads bench (options.ts), plus this bench's own flags. */
export function parseInventoryOptions(argv: readonly string[], env: NodeJS.ProcessEnv): InventoryBenchOptions | 'help' {
  let agedPositions = false;
  let decompose = false;
  let phases: readonly InventoryPhase[] = INVENTORY_PHASES;
  const shared: string[] = [];
  for (const arg of argv) {
    if (arg === '--aged') agedPositions = true;
    else if (arg === '--decompose') decompose = true;
    else if (arg.startsWith('--only=')) {
      const phase = arg.slice('--only='.length);
      if (!INVENTORY_PHASES.includes(phase as InventoryPhase)) throw new UsageError(`Unknown phase "${phase}".\n\n${INVENTORY_USAGE}`);
      phases = [phase as InventoryPhase];
    } else if (arg === '--quick' || arg === '--count-commands' || arg === '--help' || arg === '-h') shared.push(arg);
    else throw new UsageError(`Unknown argument "${arg}".\n\n${INVENTORY_USAGE}`);
  }
  const options = parseOptions(shared, env);
  if (options === 'help') return 'help';
  // Setup (seeding, 4,500 positions per side) and the ledger checks take ~1 min more than the reads bench's phases.
  return { ...options, hardLimitSeconds: options.quick ? 240 : 420, agedPositions, phases, decompose };
}
