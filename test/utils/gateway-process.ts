import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deferred } from './deferred.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GatewayProcess {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Every stdout/stderr line so far, for assertions on logs and for failure messages. */
  readonly output: string[];
  /** Resolves with the first output line (already seen or still to come) that matches. */
  waitForOutput(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code once the process has exited (for whatever reason). */
  exited(): Promise<number | null>;
  /** SIGTERM, then resolves with the exit code once the process has drained and exited. */
  stop(): Promise<number | null>;
}

export interface GatewayProcessOptions {
  readonly env: Record<string, string>;
  /** Upper bound on start-up; a cold JVM store can take a few seconds. */
  readonly startTimeoutMs?: number;
}

/**
 * Runs the real entry point (`src/main.ts`) as a child process on a free port and resolves once it logs its
 * "listening" line: e2e tests talk to it only over HTTP and WebSocket.
 */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', SEED_DEMO_DATA: 'false', LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const watchers: { pattern: RegExp; found: (line: string) => void }[] = [];
  const listening = deferred<{ url: string; port: number }>();
  const exited = deferred<number | null>();
  child.once('exit', (code) => {
    exited.resolve(code);
    listening.reject(new Error(`gateway exited with ${code} before listening:\n${output.slice(-30).join('\n')}`));
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      for (const watcher of watchers.filter((w) => w.pattern.test(line))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.found(line);
      }
      if (line.includes('"msg":"listening"')) {
        const parsed = JSON.parse(line) as { url: string; port: number };
        listening.resolve({ url: parsed.url, port: parsed.port });
      }
    });
  }
  const timeout = setTimeout(() => listening.reject(new Error(`gateway did not listen within ${options.startTimeoutMs ?? 60_000} ms:\n${output.slice(-30).join('\n')}`)), options.startTimeoutMs ?? 60_000);
  try {
    const { url, port } = await listening.promise;
    return {
      url,
      port,
      process: child,
      output,
      waitForOutput(pattern) {
        const seen = output.find((line) => pattern.test(line));
        if (seen !== undefined) return Promise.resolve(seen);
        const found = deferred<string>();
        watchers.push({ pattern, found: found.resolve });
        void exited.promise.then(() => found.reject(new Error(`gateway exited before printing ${pattern}`)));
        return found.promise;
      },
      exited: () => exited.promise,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited.promise;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timeout);
  }
}
