/**
 * Embedded stand-in for MongoDB: mongo-java-server 1.47.0, run by tools/embedded-store/Launcher.java, for tests
 * and local runs. Production and any run with MONGODB_URI use a real MongoDB instead. This server lacks
 * transactions, TTL expiry, pipeline updates and database-level watch, so nothing correct may rely on them.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** `memory` forgets everything on stop (tests); `h2` keeps the data in one file across restarts (local default). */
export type EmbeddedBackend = 'memory' | 'h2';

export interface EmbeddedStoreOptions {
  readonly backend: EmbeddedBackend;
  /**
   * H2 file path; required for 'h2', rejected for 'memory'. Relative paths resolve against `process.cwd()`.
   * The name is used as given (use the H2 convention `*.mv.db`); missing parent directories are created.
   * Only one process can open a file at a time: a second start on the same file rejects ("file is locked").
   */
  readonly file?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** How long to wait for the launcher's connection line. Default {@link DEFAULT_START_TIMEOUT_MS}. */
  readonly startTimeoutMs?: number;
  /** Options for the store's JVM (`-Xmx…`, `-XX:…`), before the launcher's; default none: the JVM's defaults. */
  readonly jvmOptions?: readonly string[];
}

export interface EmbeddedStore {
  /** `mongodb://127.0.0.1:PORT`, accepting connections by the time {@link startEmbeddedStore} resolves. */
  readonly uri: string;
  /**
   * Sends SIGTERM (the launcher closes the server, which flushes and closes the H2 file) and resolves once the
   * process has exited. If it has not exited after {@link STOP_TIMEOUT_MS} it is SIGKILLed, which can lose the
   * last H2 writes; the promise still resolves. Idempotent, and safe after the process died on its own.
   */
  stop(): Promise<void>;
}

/** Measured start is 0.7–1.4 s (JVM plus compiling Launcher.java); the margin covers a loaded CI machine. */
export const DEFAULT_START_TIMEOUT_MS = 30_000; // 30 seconds
/** Normal shutdown takes well under a second, H2 included; waiting longer only delays a hung process's kill. */
export const STOP_TIMEOUT_MS = 10_000; // 10 seconds

const STDERR_TAIL_LINES = 20;
const TOOL_DIR = fileURLToPath(new URL('../../tools/embedded-store/', import.meta.url));
const LIB_DIR = resolve(TOOL_DIR, 'lib');
const LAUNCHER = resolve(TOOL_DIR, 'Launcher.java');
const CONNECTION_LINE = /^mongodb:\/\/\S+$/;

type LauncherProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * Starts the embedded store and resolves once it accepts connections.
 *
 * The Java process ends with this Node process: its stdin is a pipe held open by us, and the launcher exits at
 * EOF, which happens even if Node is SIGKILLed. The process does not keep the event loop alive by itself, so a
 * script that forgets {@link EmbeddedStore.stop} still exits (an H2 store is then closed by the launcher on EOF).
 *
 * `java` is looked up on PATH, like `npm run store:install` does.
 *
 * @throws TypeError or RangeError for invalid options (h2 without `file`, memory with `file`, bad port, a JVM
 * option that does not start with '-').
 * @throws Error if the jars are missing (run `npm run store:install`, or set MONGODB_URI), if `java` cannot be
 * started, if the launcher exits before announcing its URI (bad options, port in use, H2 file locked), or if
 * it stays silent for `startTimeoutMs`; the message carries the launcher's last stderr lines.
 */
export async function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const args = launcherArgs(options);
  const jvm = jvmOptions(options);
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  assertJarsInstalled();

  const child: LauncherProcess = spawn('java', [...jvm, '-cp', resolve(LIB_DIR, '*'), LAUNCHER, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderrTail = collectStderrTail(child);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  const uri = await waitForConnectionLine(child, startTimeoutMs, stderrTail, options.backend);

  // Anything written later would otherwise pile up in the pipe and eventually block the launcher.
  child.stdout.resume();
  // We never write to stdin, so an EPIPE there only means the launcher is gone, which `exited` already tracks;
  // unhandled, it would crash the gateway.
  child.stdin.on('error', () => {});
  // A failed kill() is reported as 'error'; stop() escalates to SIGKILL and waits for 'exit' regardless.
  child.on('error', () => {});
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    if (stream instanceof Socket) stream.unref();
  }

  let stopping: Promise<void> | undefined;
  return {
    uri,
    stop: () => (stopping ??= stopLauncher(child, exited)),
  };
}

function launcherArgs(options: EmbeddedStoreOptions): string[] {
  const { backend, file, port = 0, startTimeoutMs } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Expected port to be an integer between 0 and 65535, but got ${port}.`);
  }
  if (startTimeoutMs !== undefined && !(startTimeoutMs > 0)) {
    throw new RangeError(`Expected startTimeoutMs to be a positive number, but got ${startTimeoutMs}.`);
  }
  switch (backend) {
    case 'memory':
      if (file !== undefined) throw new TypeError("The 'memory' embedded store keeps no file; remove the file option.");
      return ['--backend', 'memory', '--port', String(port)];
    case 'h2':
      if (file === undefined || file.trim() === '') {
        throw new TypeError("The 'h2' embedded store needs a file option (e.g. '.data/store.mv.db').");
      }
      // Resolved here so the path means what the caller meant, whatever directory java runs in.
      return ['--backend', 'h2', '--file', resolve(file), '--port', String(port)];
    default:
      throw new TypeError(`Expected backend 'memory' or 'h2', but got '${String(backend satisfies never)}'.`);
  }
}

function jvmOptions({ jvmOptions: given = [] }: EmbeddedStoreOptions): readonly string[] {
  // Anything else would be taken for the main class or its arguments, and the launcher would not start.
  const notAnOption = given.find((option) => !/^-\S+$/.test(option));
  if (notAnOption !== undefined) {
    throw new TypeError(`Expected each JVM option to start with '-' and contain no spaces, but got '${notAnOption}'.`);
  }
  return given;
}

function assertJarsInstalled(): void {
  let jars: string[];
  try {
    jars = readdirSync(LIB_DIR).filter((name) => name.endsWith('.jar'));
  } catch {
    jars = [];
  }
  if (!jars.some((name) => name.startsWith('mongo-java-server-core-'))) {
    throw new Error(
      `The embedded MongoDB store is not installed: ${LIB_DIR} has no mongo-java-server jars. ` +
        'Run `npm run store:install` (needs Java 17+ and Maven), or set MONGODB_URI to use an existing MongoDB.',
    );
  }
}

/** Keeps the last lines of stderr for error messages, and keeps draining it so the launcher never blocks on it. */
function collectStderrTail(child: LauncherProcess): () => string {
  const lines: string[] = [];
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    lines.push(line);
    if (lines.length > STDERR_TAIL_LINES) lines.shift();
  });
  return () => (lines.length === 0 ? '(no stderr output)' : lines.join('\n'));
}

function waitForConnectionLine(
  child: LauncherProcess,
  timeoutMs: number,
  stderrTail: () => string,
  backend: EmbeddedBackend,
): Promise<string> {
  return new Promise<string>((resolveUri, reject) => {
    const stdoutLines = createInterface({ input: child.stdout, crlfDelay: Infinity });

    const settle = (outcome: { uri: string } | { error: Error }): void => {
      clearTimeout(timer);
      stdoutLines.off('line', onLine);
      child.off('exit', onExit);
      child.off('error', onError);
      // Hands stdout back to the caller in flowing-capable state without readline attached.
      stdoutLines.close();
      if ('uri' in outcome) {
        resolveUri(outcome.uri);
      } else {
        reject(outcome.error);
      }
    };
    const onLine = (line: string): void => {
      const candidate = line.trim();
      if (CONNECTION_LINE.test(candidate)) settle({ uri: candidate });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      // 'exit' can precede the last stderr chunks; waiting for the stream to end makes the message complete.
      const report = (): void =>
        settle({
          error: new Error(
            `The embedded ${backend} store exited before it was ready (${signal ?? `exit code ${code}`}). ` +
              `Launcher stderr:\n${stderrTail()}`,
          ),
        });
      if (child.stderr.readableEnded) report();
      else child.stderr.once('end', report);
    };
    const onError = (error: NodeJS.ErrnoException): void => {
      const hint =
        error.code === 'ENOENT'
          ? '`java` was not found on PATH; install Java 17+ or set MONGODB_URI to use an existing MongoDB.'
          : error.message;
      settle({ error: new Error(`Could not start the embedded ${backend} store: ${hint}`, { cause: error }) });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle({
        error: new Error(
          `The embedded ${backend} store did not announce its URI within ${timeoutMs} ms; it was killed. ` +
            `Launcher stderr:\n${stderrTail()}`,
        ),
      });
    }, timeoutMs);

    stdoutLines.on('line', onLine);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

async function stopLauncher(child: LauncherProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // The child was unref'd; without this a caller awaiting stop() at the end of a script could see Node exit first.
  child.ref();
  child.kill('SIGTERM');
  let escalation: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolveKill) => {
    escalation = setTimeout(() => {
      child.kill('SIGKILL');
      resolveKill();
    }, STOP_TIMEOUT_MS);
  });
  try {
    await Promise.race([exited, killed.then(() => exited)]);
  } finally {
    clearTimeout(escalation);
  }
}
