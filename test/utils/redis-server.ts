import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { deferred } from './deferred.js';

/** Upper bound on redis-server start-up; it is normally ready in a few milliseconds. */
const DEFAULT_START_TIMEOUT_MS = 10_000;

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`; stays the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Whether the server process is up (it may be paused). */
  readonly running: boolean;
  /** Every stdout/stderr line of every run so far, for failure messages. */
  readonly output: string[];
  /** SIGTERM, then resolves once the process has exited: clients see the connection close. No-op if stopped. */
  stop(): Promise<void>;
  /** Stops the server if it runs, then starts a fresh, empty one on the same port; resolves once it is ready. */
  restart(): Promise<void>;
  /** SIGSTOP: the socket stays open, connections are accepted by the kernel, nothing is answered. */
  pause(): void;
  /** SIGCONT: undoes pause(); what clients sent meanwhile is then processed. No-op unless paused. */
  resume(): void;
}

export interface RedisServerOptions {
  readonly startTimeoutMs?: number;
}

/**
 * Starts a private, throw-away redis-server on a free port of 127.0.0.1 (no RDB, no AOF), so tests never share
 * state with the Redis of the machine or with other test files, and can stop, restart and pause it at will.
 * The process is killed when the test process exits.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const output: string[] = [];
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let paused = false;

  const start = async (): Promise<void> => {
    const run = await spawnReady(port, output, startTimeoutMs);
    child = run.child;
    exited = run.exited;
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === null) return;
    child = null;
    // A stopped process would only act on SIGTERM once continued.
    if (paused) running.kill('SIGCONT');
    paused = false;
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    output,
    get running() {
      return child !== null;
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
    pause() {
      if (child === null || paused) return;
      paused = true;
      child.kill('SIGSTOP');
    },
    resume() {
      if (child === null || !paused) return;
      paused = false;
      child.kill('SIGCONT');
    },
  };
}

interface Run {
  readonly child: ChildProcess;
  /** Resolves once the process has exited, for whatever reason. */
  readonly exited: Promise<void>;
}

async function spawnReady(port: number, output: string[], startTimeoutMs: number): Promise<Run> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // SIGKILL, not SIGTERM: 'exit' handlers must be synchronous, and a paused server ignores SIGTERM.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const ready = deferred();
  const exited = deferred();
  child.once('exit', (code, signal) => {
    process.off('exit', killOnExit);
    exited.resolve();
    ready.reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output.slice(-20).join('\n')}`));
  });
  child.once('error', (error) => ready.reject(error));
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (line.includes('Ready to accept connections')) ready.resolve();
    });
  }
  const timeout = setTimeout(() => ready.reject(new Error(`redis-server was not ready within ${startTimeoutMs} ms:\n${output.slice(-20).join('\n')}`)), startTimeoutMs);
  try {
    await ready.promise;
    return { child, exited: exited.promise };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timeout);
  }
}

/** A port the kernel just handed out and released; redis-server binds it a moment later. */
async function freePort(): Promise<number> {
  const server = createServer();
  const listening = deferred();
  server.once('error', listening.reject);
  server.listen(0, '127.0.0.1', () => listening.resolve());
  await listening.promise;
  const address = server.address();
  const closed = deferred();
  server.close(() => closed.resolve());
  await closed.promise;
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}
