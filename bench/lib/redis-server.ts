import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** redis-server is normally ready within milliseconds; the bound only catches a missing or broken binary. */
const START_TIMEOUT_MS = 10_000;
/** After its stdin closes the wrapper stops redis-server at once; SIGKILL after this. */
const STOP_TIMEOUT_MS = 5_000;

export interface BenchRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The redis-server process itself (not its wrapper), for CPU accounting and CPU affinity. */
  readonly pid: number;
  readonly version: string;
  /** Stops redis-server and its wrapper; idempotent. */
  stop(): Promise<void>;
}

/**
 * A private, throw-away redis-server for a bench (no RDB, no AOF) on a free port of 127.0.0.1, as
 * test/utils/redis-server.ts starts one for tests, with the bench's extra rule: it must not outlive the bench,
 * however the bench ends (SIGKILL included). redis-server cannot watch a pipe, so it runs under a small `sh`
 * wrapper that holds the other end of the bench's stdin pipe: when that pipe closes (the bench stopping it, or
 * the kernel closing it because the bench died), the wrapper kills redis-server and exits.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'notice'];
  // "$!" is redis-server's pid: printed first so the bench can account for its CPU; cat blocks until stdin closes.
  const script = 'redis-server "$@" </dev/null & echo "redis-pid $!"; cat >/dev/null; kill $! 2>/dev/null; wait $!';
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn('sh', ['-c', script, 'bench-redis', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  const output: string[] = [];
  let redisPid: number | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = (() => {
    let stopping: Promise<void> | null = null;
    return (): Promise<void> =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.stdin.end();
        const timer = setTimeout(() => {
          if (redisPid !== null) killQuietly(redisPid);
          child.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })());
  })();

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server was not ready within ${START_TIMEOUT_MS} ms:\n${output.slice(-20).join('\n')}`)), START_TIMEOUT_MS);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${signal ?? `code ${code}`}) before it was ready (is redis-server installed?):\n${output.slice(-20).join('\n')}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          output.push(line);
          if (output.length > 200) output.shift();
          const pid = /^redis-pid (\d+)$/.exec(line);
          if (pid) redisPid = Number(pid[1]);
          if (line.includes('Ready to accept connections') && redisPid !== null) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const version = /v=(\d+\.\d+\.\d+)/.exec(output.join('\n'))?.[1] ?? /Redis version=(\d+\.\d+\.\d+)/.exec(output.join('\n'))?.[1] ?? 'unknown';
  return { url: `redis://127.0.0.1:${port}`, pid: redisPid!, version, stop };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** A port of 127.0.0.1 the kernel just handed out and released, for a server started a moment later. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}
