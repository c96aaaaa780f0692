import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXIT_WITH_PARENT = fileURLToPath(new URL('./exit-with-parent.ts', import.meta.url));
const TAIL_LINES = 40;

export interface GatewayProcessOptions {
  readonly mongoUri: string;
  readonly dbName: string;
  readonly dataDir: string;
  /** Seeding ~2,400 SKUs through the services takes ~10 s here; the bound only catches a hung start. */
  readonly startTimeoutMs: number;
  /** Extra node flags for the child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes. */
  readonly nodeArgs: readonly string[];
  /** Count the gateway's store commands on /metrics (MONGODB_COMMAND_METRICS=true; store-commands.ts). */
  readonly countCommands: boolean;
}

export interface DemoKey {
  readonly name: string;
  readonly key: string;
}

export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  readonly keys: readonly DemoKey[];
  /** SIGTERM (the gateway drains), then SIGKILL if it has not exited in time. Idempotent. */
  stop(): Promise<void>;
}

/** Exactly what `npm start` runs, in production mode, seeded with the demo catalog on an empty database. */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', EXIT_WITH_PARENT, ...options.nodeArgs, 'src/main.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        MONGODB_URI: options.mongoUri,
        MONGODB_DB: options.dbName,
        DATA_DIR: options.dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        SEED_DEMO_DATA: 'true',
        // 'info' is the default level in deployments, and the level that prints the listening line; the
        // per-request log line is part of what a request costs.
        LOG_LEVEL: 'info',
        // Off unless asked: the benches measure the default deployment, and counting costs the gateway CPU.
        MONGODB_COMMAND_METRICS: options.countCommands ? 'true' : 'false',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  child.stdin.on('error', () => {});
  const tail: string[] = [];
  const remember = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', remember);
  const stdoutLines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  stdoutLines.on('line', remember);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000); // 15 seconds: drain grace is 10 s
      await exited;
      clearTimeout(killTimer);
    })());

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The gateway did not listen within ${options.startTimeoutMs} ms. Last output:\n${tail.join('\n')}`)), options.startTimeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`The gateway exited (${signal ?? `code ${code}`}) before listening. Last output:\n${tail.join('\n')}`));
      });
      stdoutLines.on('line', (line) => {
        if (!line.includes('"msg":"listening"')) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      });
    });
    // From here on every request logs a line; parsing them in the bench would steal CPU from the measurement.
    stdoutLines.close();
    child.stdout.resume();
    const keys = JSON.parse(readFileSync(join(options.dataDir, 'demo-keys.json'), 'utf8')) as DemoKey[];
    return { url, pid: child.pid!, keys, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
