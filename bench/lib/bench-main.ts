import { Cleanup } from './cleanup.js';
import { UsageError } from './options.js';

export interface BenchProgram<O extends { readonly hardLimitSeconds: number }, R> {
  /** Parses argv and env; 'help' prints the usage. Throws UsageError for bad arguments. */
  readonly parse: (argv: readonly string[], env: NodeJS.ProcessEnv) => O | 'help';
  readonly usage: string;
  readonly run: (options: O, cleanup: Cleanup) => Promise<R>;
  /** What to print on success, in order (e.g. the table, then one JSON line). */
  readonly print: (report: R) => readonly string[];
  /** A report can still mean failure (e.g. requests that failed while timed). */
  readonly failed?: (report: R) => boolean;
  readonly progress: (message: string) => void;
}

/**
 * The shell every bench shares: argument errors exit 2, and whatever ends the run (success, error, Ctrl-C,
 * SIGTERM, the hard time limit) stops everything the bench started before the process exits.
 */
export async function runBenchProgram<O extends { readonly hardLimitSeconds: number }, R>(program: BenchProgram<O, R>): Promise<number> {
  let options: O | 'help';
  try {
    options = program.parse(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(program.usage);
    return 0;
  }

  const cleanup = new Cleanup();
  const abort = (why: string, code: number): void => {
    program.progress(`${why}: stopping everything the bench started`);
    void cleanup.run().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  const watchdog = setTimeout(() => abort(`still running after ${options.hardLimitSeconds} s`, 1), options.hardLimitSeconds * 1000);
  watchdog.unref();

  try {
    const report = await program.run(options, cleanup);
    for (const line of program.print(report)) process.stdout.write(`${line}\n`);
    return program.failed?.(report) ? 1 : 0;
  } catch (error) {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    program.progress('stopping the gateway and the store');
    await cleanup.run();
  }
}
