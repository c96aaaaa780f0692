/**
 * The change feed (issue 5), three figures measured side by side in one run (BENCHMARKS.md, "Change feed"):
 *
 * 1. fan-out in one gateway process: one change to N subscribers, grouped execution (the gateway as it is: one
 *    execution per event for subscribers with the same document, variables and scope) against the naive
 *    baseline (every subscriber's variables differ, so every subscriber re-executes), changes alternating;
 * 2. cross-replica latency: paced adjustments on replica A, one subscriber on replica B, through a private Redis;
 * 3. gateway RSS per open socket with one subscription.
 *
 *   npx tsx bench/change-feed.bench.ts [--quick] [--subscribers=N] [--per-socket=N] [--changes=N] [--rate=N]
 *       [--light-rate=N] [--seconds=N] [--batch=N] [--sockets=N] [--only=fanout|replica|rss] [--no-pin] [--heap-sampling]
 *       [--count-commands]
 *
 * Subscribers run in a child process of this file (`--agent`, never run by hand) that speaks graphql-ws over raw
 * `ws` sockets, many subscriptions per socket, and timestamps each frame as it arrives; the gateway under test is
 * pinned to core 0 and everything else the bench starts to the other cores (taskset), so the client's CPU does not
 * come out of the gateway's core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mongo } from 'mongoose';
import WebSocket from 'ws';
import { machineBusyMs, processCpuMs } from './lib/cpu-meter.js';
import { runBenchProgram } from './lib/bench-main.js';
import { machineEnvironment, openBenchRun, progress, STORE_JVM_USAGE } from './lib/bench-store.js';
import type { Cleanup } from './lib/cleanup.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { GraphqlClient } from './lib/graphql-client.js';
import { GatewayAdjuster } from './lib/inventory-gateway.js';
import type { AdjustmentItem } from './lib/inventory-raw.js';
import { parseOptions, UsageError } from './lib/options.js';
import { RawReads } from './lib/raw-reads.js';
import { freePort, startBenchRedis } from './lib/redis-server.js';
import { shuffled, summarize } from './lib/stats.js';
import { commandsPerRequest, formatStoreCommands, NOT_COUNTED, storeCommandCounts } from './lib/store-commands.js';

const SELF = fileURLToPath(import.meta.url);

/** Issue 5's goals, printed next to the figures. */
const GOALS = { fanOutP99Ms: 100, replicaP50Ms: 5, replicaP99Ms: 25, rssPerSocketKb: 20 } as const;

/** A storefront key bound to WEB-EU (catalog:read, inventory:read): what 10,000 storefront sessions would hold. */
const SUBSCRIBER_KEY = 'demo-storefront-web-eu';
/** inventory:write, bound to no channel. */
const WRITER_KEY = 'demo-erp';
const CHANNEL = 'WEB-EU';
/** Two of WEB-EU's locations: every change the bench makes is visible to the channel's subscribers. */
const LOCATIONS = ['DC-EU-1', 'WH-EU-2'] as const;
/** Positions the paced writer rotates over (created before timing, so timed writes are updates). */
const WRITER_POSITIONS = 1_000;
const SETUP_BATCH = 500;
/** Requests of the paced writer in flight at most; past it the writer waits and the achieved rate drops (reported). */
const MAX_WRITES_IN_FLIGHT = 32;
/** Fan-out changes sent, not measured, after every subscriber got one: JIT and caches warm on both sides. */
const FANOUT_WARMUP_CHANGES = 2;
/** A pause between fan-out changes, so one change's tail (availability derived by the relay) is not the next's head. */
const FANOUT_PAUSE_MS = 250;
const FANOUT_CHANGE_TIMEOUT_MS = 30_000;
/** How long a cross-replica pass waits, after the writer's last answer, for the relay's backlog to arrive on B. */
const REPLICA_TAIL_LIMIT_MS = 60_000;
/**
 * A pass at the target rate before the measured ones, its figures dropped, so the first measured pass does not
 * run on cold gateways (a gateway in production runs warm): with it the light pass's p50 was 4.9–5.1 ms in three
 * `--only=replica` runs, 5.7–6.9 ms in ten without. The target pass's tail did not change (BENCHMARKS.md).
 */
const REPLICA_WARMUP_SECONDS = 3;

/** The document every subscriber sends (the client helper's shape: `$since` declared, not part of the group key). */
const SUBSCRIPTION =
  'subscription Inventory($channel: String!, $skus: [String!], $since: SafeInt) { inventoryChanged(channel: $channel, skus: $skus, since: $since) { seq eventId version at sku location onHand available } }';

const epochMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Options

type Phase = 'rss' | 'fanout' | 'replica';
const PHASES: readonly Phase[] = ['rss', 'fanout', 'replica'];

interface ChangeFeedBenchOptions {
  readonly quick: boolean;
  /** Subscribers per side of the fan-out (grouped and naive each get this many). */
  readonly subscribers: number;
  readonly perSocket: number;
  /** Measured fan-out changes per side. */
  readonly changes: number;
  /** Cross-replica: items per second the writer aims at, for `seconds`, `batch` items per mutation. */
  readonly rate: number;
  /** A first, lighter pass at this rate (0: none), so the pipeline's own latency shows apart from queueing. */
  readonly lightRate: number;
  readonly seconds: number;
  readonly batch: number;
  /** RSS: sockets opened, one subscription each. */
  readonly sockets: number;
  readonly phases: readonly Phase[];
  readonly pin: boolean;
  /**
   * Keep the fan-out's pinning through the cross-replica passes too. By default they run unpinned: their goal names
   * no core, and pinned, gateway B shares one core with the store, the subscriber client and the bench (BENCHMARKS.md).
   */
  readonly pinReplica: boolean;
  /** RSS phase: also take a sampling heap profile of gateway B and rank where the live memory per socket was allocated. */
  readonly heapSampling: boolean;
  readonly hardLimitSeconds: number;
  readonly gatewayNodeArgs: readonly string[];
  /** Both gateways count their store commands (MONGODB_COMMAND_METRICS=true), at a CPU cost. */
  readonly countCommands: boolean;
}

const USAGE = `Usage: npx tsx bench/change-feed.bench.ts [--quick] [options]

Measures the change feed (BENCHMARKS.md, "Change feed (issue 5)"), side by side in one run:
fan-out of one change to many subscribers on one gateway (grouped execution vs every subscriber executing),
latency from a commit on replica A to a subscriber on replica B through Redis, and gateway RSS per socket.
  --quick             smaller and shorter (~70 s instead of ~2 min 15 s): 2,000 subscribers, 10 changes, 3 s, 500 sockets
  --subscribers=N     fan-out subscribers per side (default 10000; --quick 2000)
  --per-socket=N      subscriptions multiplexed on one WebSocket (default 100)
  --changes=N         measured fan-out changes per side (default 20; --quick 10)
  --rate=N            cross-replica: items per second the writer sends to replica A (default 1000)
  --light-rate=N      cross-replica: a first pass at this lighter rate (default rate/10; 0: none)
  --seconds=N         cross-replica: how long the writer runs (default 10; --quick 3)
  --batch=N           cross-replica: items per adjustInventory request (default 10)
  --sockets=N         RSS: sockets opened, one subscription each (default 2000; --quick 500)
  --only=PHASE        run one phase: fanout, replica or rss
  --no-pin            do not pin processes to cores (by default, for the fan-out and RSS phases: gateway A on
                      core 0, the rest elsewhere; the cross-replica passes run unpinned)
  --pin-replica       keep that pinning through the cross-replica passes as well
  --heap-sampling     RSS phase: rank where gateway B allocated the live memory per socket (sampling heap profile)
  --count-commands    count the gateways' store commands (MONGODB_COMMAND_METRICS=true on A and B; costs them CPU,
                      so the figures are not the default deployment's)
Environment:
  MONGODB_URI               use this MongoDB instead of starting the embedded store (a fresh database is
                            created for the run and dropped at the end)
  BENCH_GATEWAY_NODE_ARGS   extra node flags for gateway A (the fan-out gateway and the writer's replica),
                            e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
${STORE_JVM_USAGE}
`;

function parseChangeFeedOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ChangeFeedBenchOptions | 'help' {
  const numbers = new Map<string, number>();
  let phases: readonly Phase[] = PHASES;
  let pin = true;
  let pinReplica = false;
  let heapSampling = false;
  const shared: string[] = [];
  const args = [...argv];
  const positive = (name: string, text: string | undefined): number => {
    const value = Number(text);
    if (text === undefined || !Number.isInteger(value) || value <= 0) throw new UsageError(`--${name} needs a positive integer, got ${JSON.stringify(text)}.\n\n${USAGE}`);
    return value;
  };
  const nonNegative = (name: string, text: string | undefined): number => (text === '0' ? 0 : positive(name, text));
  while (args.length > 0) {
    const arg = args.shift()!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const name = flag.replace(/^--/, '');
    if (['subscribers', 'per-socket', 'changes', 'rate', 'light-rate', 'seconds', 'batch', 'sockets'].includes(name) && flag.startsWith('--')) {
      numbers.set(name, name === 'light-rate' ? nonNegative(name, inline ?? args.shift()) : positive(name, inline ?? args.shift()));
    } else if (flag === '--only') {
      const phase = (inline ?? args.shift()) as Phase;
      if (!PHASES.includes(phase)) throw new UsageError(`Unknown phase ${JSON.stringify(phase)}.\n\n${USAGE}`);
      phases = [phase];
    } else if (arg === '--no-pin') pin = false;
    else if (arg === '--pin-replica') pinReplica = true;
    else if (arg === '--heap-sampling') heapSampling = true;
    else if (arg === '--quick' || arg === '--count-commands' || arg === '--help' || arg === '-h') shared.push(arg);
    else throw new UsageError(`Unknown argument "${arg}".\n\n${USAGE}`);
  }
  const common = parseOptions(shared, env);
  if (common === 'help') return 'help';
  const quick = common.quick;
  const options: ChangeFeedBenchOptions = {
    quick,
    subscribers: numbers.get('subscribers') ?? (quick ? 2_000 : 10_000),
    perSocket: numbers.get('per-socket') ?? 100,
    changes: numbers.get('changes') ?? (quick ? 10 : 20),
    rate: numbers.get('rate') ?? 1_000,
    lightRate: numbers.get('light-rate') ?? Math.floor((numbers.get('rate') ?? 1_000) / 10),
    seconds: numbers.get('seconds') ?? (quick ? 3 : 10),
    batch: numbers.get('batch') ?? 10,
    sockets: numbers.get('sockets') ?? (quick ? 500 : 2_000),
    phases,
    pin,
    pinReplica,
    heapSampling,
    gatewayNodeArgs: common.gatewayNodeArgs,
    countCommands: common.countCommands,
    hardLimitSeconds: 0,
  };
  if (options.batch > SETUP_BATCH) throw new UsageError(`--batch must be at most ${SETUP_BATCH}.`);
  // Setup (store, seeding, a second gateway) takes ~40 s; opening sockets and subscriptions ~1 ms each here; each
  // cross-replica pass may wait up to REPLICA_TAIL_LIMIT_MS for the relay's backlog.
  const opening = (2 * options.subscribers + options.sockets) / 1_000;
  const replicaPasses = (options.lightRate > 0 ? 2 : 1) * (options.seconds * 2 + REPLICA_TAIL_LIMIT_MS / 1000 + 30) + REPLICA_WARMUP_SECONDS * 2 + REPLICA_TAIL_LIMIT_MS / 1000 + 30;
  return { ...options, hardLimitSeconds: Math.ceil(240 + opening * 3 + options.changes * 2 * 3 + replicaPasses) };
}

// ---------------------------------------------------------------------------------------------------------------
// The report

interface Spread {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

interface FanOutSide {
  readonly subscriptions: number;
  /** Commit (the event's `at`) → the last subscriber's frame arrived, per change. The goal's figure. */
  readonly lastMs: Spread;
  /**
   * Commit → the first subscriber's frame. Not the relay alone: each step of the delivery runs for every
   * subscriber before the next step runs for any (promise continuations are breadth-first), so the first frame
   * leaves after every subscriber was resumed (and, naive, executed).
   */
  readonly firstMs: Spread;
  /** First → last subscriber: the fan-out itself. */
  readonly spreadMs: Spread;
  /** Commit → the relay logged the event (its `loggedAt`, read back from the change log): store, outbox, relay. */
  readonly relayMs: Spread;
  /** Logged → the last subscriber: Redis, the feed, execution and the sends to every subscriber. */
  readonly loggedToLastMs: Spread;
  /** The mutation sent → the last subscriber. */
  readonly fromSendMs: Spread;
  /** CPU of gateway A and of the subscriber client from sending each change to its last frame, per change. */
  readonly gatewayCpuMsPerChange: number;
  readonly clientCpuMsPerChange: number;
  readonly incompleteChanges: number;
}

interface FanOutResult {
  readonly subscribersPerSide: number;
  readonly socketsPerSide: number;
  readonly perSocket: number;
  readonly changesPerSide: number;
  readonly openSeconds: number;
  readonly grouped: FanOutSide;
  readonly naive: FanOutSide;
  /** naive ÷ grouped: how much grouped execution saves. */
  readonly naiveOverGrouped: { readonly lastP50: number; readonly lastP99: number; readonly spreadP50: number; readonly gatewayCpu: number };
  readonly duplicates: number;
  readonly errors: readonly string[];
  /** The measured changes, both sides. */
  readonly cpu: CpuWindow;
  readonly goal: { readonly p99Ms: number; readonly measuredP99Ms: number; readonly met: boolean };
}

/** One paced run of the writer on A with B's subscriber listening. */
interface ReplicaPass {
  readonly name: string;
  readonly targetItemsPerSecond: number;
  readonly itemsPerRequest: number;
  readonly seconds: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly firstError: string | null;
  readonly itemsApplied: number;
  /** Items applied ÷ (first request sent → last answer). */
  readonly achievedItemsPerSecond: number;
  readonly mutationMs: Spread;
  /** Receive time on B's subscriber − the event's `at` (stamped by A just before it wrote the position). */
  readonly latencyMs: Spread | null;
  /** The same split at the relay's `loggedAt`: commit → logged, and logged → received on B (Redis, B's feed, send). */
  readonly relayMs: Spread | null;
  readonly loggedToReceivedMs: Spread | null;
  /**
   * Relay batches that carried these events (events sharing one `loggedAt` ms): how many, and events per batch. One
   * bus message carries a batch; B hands it to its subscribers synchronously.
   */
  readonly relayBatches: { readonly count: number; readonly eventsP50: number; readonly eventsMax: number } | null;
  /** Relay appends redone on the careful path during the pass (`change_relay_append_collisions_total`, both replicas). */
  readonly relayCollisions: number;
  readonly received: number;
  readonly distinctSeqs: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly missing: number;
  readonly exactlyOnce: boolean;
  /** The writer's last answer → the last event on B: the backlog the relay still had when the writer stopped. */
  readonly tailSeconds: number | null;
  /** Events received on B ÷ (first request sent → last event received). */
  readonly deliveredPerSecond: number;
  /** Times gateway B closed the subscriber's socket during the pass (4429: slow consumer); it resumed with since. */
  readonly reconnects: number;
  /** When events were missing at the end: logged by the relay meanwhile, and positions still holding outbox entries. */
  readonly missingDiagnosis: { readonly loggedInventoryEvents: number; readonly positionsWithPendingOutbox: number } | null;
  readonly cpu: CpuWindow;
  /** Null when the run did not count them (without --count-commands). */
  readonly storeCommandsPerItem: { readonly a: Readonly<Record<string, number>>; readonly b: Readonly<Record<string, number>> } | null;
  readonly goal: { readonly p50Ms: number; readonly p99Ms: number; readonly p50Met: boolean; readonly p99Met: boolean };
}

interface ReplicaResult {
  readonly passes: readonly ReplicaPass[];
  /** Close codes and reasons of the subscriber's socket closed by gateway B (the agent resumed with since each time). */
  readonly closes: readonly string[];
}

interface RssStep {
  readonly sockets: number;
  readonly rssMb: number;
  readonly heapUsedMb: number | null;
  readonly externalMb: number | null;
}

interface RssResult {
  readonly sockets: number;
  /** 0, K/2 and K sockets open. */
  readonly steps: readonly RssStep[];
  /** (RSS at K − RSS at 0) ÷ K: the goal's figure. */
  readonly perSocketKb: number;
  /** The same over the second half only (K/2 → K): one-off growth (code, pools) excluded. */
  readonly secondHalfPerSocketKb: number;
  readonly heapUsedPerSocketKb: number | null;
  readonly externalPerSocketKb: number | null;
  /** With --heap-sampling: live bytes per socket by allocation site (sampling heap profile, after a full GC). */
  readonly liveKbPerSocketBySite: Readonly<Record<string, number>> | null;
  /**
   * VmRSS moves in steps (V8 commits and releases heap pages on its own schedule), so it can understate or overstate
   * a step; false when it differs from the heap figure by more than a quarter.
   */
  readonly rssAgreesWithHeap: boolean;
  /** Met only if both RSS and live V8 heap per socket are within the goal: the live heap is a floor of the cost. */
  readonly goal: { readonly kb: number; readonly met: boolean };
}

/** CPU time per process over a window, and the cores other processes on the machine kept busy meanwhile. */
interface CpuWindow {
  readonly wallMs: number;
  readonly processesMs: Readonly<Record<string, number | null>>;
  /** Average cores busy with processes this bench did not start: from ~0.3 the figures were taken on a shared machine. */
  readonly otherCores: number | null;
}

interface ChangeFeedReport {
  readonly environment: ReturnType<typeof machineEnvironment> & {
    readonly redis: string;
    readonly skuCount: number;
    readonly pinning: string;
    /** The pinning during the cross-replica passes. */
    readonly replicaPinning: string;
    /** Which replica held the relay lease (`change_relay_active` on /metrics) at the start and at the end. */
    readonly relay: string;
  };
  readonly settings: Record<string, unknown>;
  readonly rss: RssResult | null;
  readonly fanOut: FanOutResult | null;
  readonly replica: ReplicaResult | null;
  /** process.hrtime µs (the clock of a V8 CPU profile) of gateway A's measured windows, for bench/lib/inventory-profile.ts. */
  readonly gatewayWindowsUs: Readonly<Record<string, readonly [number, number][]>>;
}

function spread(values: readonly number[]): Spread {
  const summary = summarize(values);
  return { samples: summary.samples, p50: summary.p50, p99: summary.p99, max: values.reduce((max, value) => Math.max(max, value), -Infinity), mean: summary.mean };
}

// ---------------------------------------------------------------------------------------------------------------
// Processes: CPU, memory, affinity

/** user + system CPU of a process in ms (null off Linux, once it has exited, or without a pid). */
function cpuMs(pid: number | null): number | null {
  return pid === null ? null : processCpuMs(pid);
}

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Several readings a little apart, middle one: one reading can land in the middle of a GC. */
async function steadyRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(rssBytes(pid));
    await sleep(200);
  }
  return readings.sort((a, b) => a - b)[2]!;
}

/** The gateway's own prom-client gauges (bytes), e.g. nodejs_heap_size_used_bytes. */
async function gatewayGauges(graphqlUrl: string): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = get(new URL('/metrics', graphqlUrl), { timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
  });
  const gauges = new Map<string, number>();
  for (const match of text.matchAll(/^([a-z_]+) (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/gm)) gauges.set(match[1]!, Number(match[2]));
  return gauges;
}

/** Relay appends redone on the careful path so far, summed over both replicas (one of them relays). */
async function relayCollisionCount(bench: Bench): Promise<number> {
  const counts = await Promise.all([gatewayGauges(bench.a.url), gatewayGauges(bench.b.url)]);
  return counts.reduce((sum, gauges) => sum + (gauges.get('change_relay_append_collisions_total') ?? 0), 0);
}

/** Sets the CPU affinity of every thread of a process we started; false when taskset is missing or refuses. */
function pinTo(pid: number | null, cpuList: string): boolean {
  if (pid === null) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CPU of every process the bench started, and of the machine (cpu-meter.ts's approach, for more processes). */
class ProcessCpu {
  constructor(private readonly pids: Readonly<Record<string, number | null>>) {}

  start(): () => CpuWindow {
    const at = performance.now();
    const machine = machineBusyMs();
    const before = Object.fromEntries(Object.entries(this.pids).map(([name, pid]) => [name, cpuMs(pid)]));
    return () => {
      const wallMs = performance.now() - at;
      const processesMs: Record<string, number | null> = {};
      for (const [name, pid] of Object.entries(this.pids)) {
        const now = cpuMs(pid);
        processesMs[name] = now === null || before[name] === null || before[name] === undefined ? null : now - before[name];
      }
      const machineNow = machineBusyMs();
      const ours = Object.values(processesMs).reduce<number>((sum, value) => sum + (value ?? 0), 0);
      const otherCores = machine === null || machineNow === null ? null : Math.max(0, machineNow - machine - ours) / wallMs;
      return { wallMs, processesMs, otherCores };
    };
  }
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** The relay's `loggedAt` of logged events (epoch ms), read back from the change log after a phase. */
async function loggedAtOf(db: mongo.Db, seqs: readonly number[]): Promise<Map<number, number>> {
  const loggedAt = new Map<number, number>();
  for (let i = 0; i < seqs.length; i += 1_000) {
    const documents = await db
      .collection<{ _id: number; loggedAt: Date }>('change_log')
      .find({ _id: { $in: seqs.slice(i, i + 1_000) } }, { projection: { loggedAt: 1 } })
      .toArray();
    for (const document of documents) loggedAt.set(document._id, document.loggedAt.getTime());
  }
  return loggedAt;
}

/**
 * A session on the inspector of a gateway started with `--inspect=127.0.0.1:PORT`: full garbage collections before
 * memory readings (so they are of live objects, not of where the last GC happened to be), and the sampling heap
 * profiler for `--heap-sampling`.
 */
class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (raw: WebSocket.RawData) => {
      const message = JSON.parse(raw.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      const pending = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id!);
      if (message.error) pending.reject(new Error(message.error.message));
      else pending.resolve(message.result);
    });
  }

  static async open(port: number): Promise<InspectorSession> {
    const targets = await new Promise<{ webSocketDebuggerUrl: string }[]>((resolve, reject) => {
      const req = get(`http://127.0.0.1:${port}/json/list`, { timeout: 5_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body) as { webSocketDebuggerUrl: string }[]));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('inspector /json/list timed out')));
      req.on('error', reject);
    });
    const target = targets[0]?.webSocketDebuggerUrl;
    if (!target) throw new Error(`No inspector target on port ${port}.`);
    const socket = new WebSocket(target, { maxPayload: 2 ** 30 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new InspectorSession(socket);
  }

  call<T>(method: string, params: object = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (result) => (clearTimeout(timer), resolve(result as T)), reject: (error) => (clearTimeout(timer), reject(error)) });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.socket.terminate();
  }
}

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

/**
 * Live sampled bytes by where they were allocated: the package of the nearest frame with a URL, and the gateway's
 * own file that led there ("graphql via src/server/ws.ts" is the document parsed per subscription).
 */
function liveBySite(head: SamplingNode): Map<string, number> {
  const sites = new Map<string, number>();
  const own = (url: string): string | null => (url.includes('node_modules') ? null : (/\/((?:src|resolvers)\/.*)$/.exec(url)?.[1] ?? null));
  const packageOf = (url: string): string | null => {
    const at = url.lastIndexOf('node_modules/');
    return at < 0 ? null : (/^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(at))?.[1] ?? null);
  };
  const walk = (node: SamplingNode, ownFile: string | null, nearest: string | null): void => {
    const url = node.callFrame.url;
    const here = own(url) ?? ownFile;
    const site = url ? (packageOf(url) ?? (url.startsWith('node:') ? 'node core' : (own(url) ?? 'other'))) : nearest;
    if (node.selfSize > 0) {
      const label = site === null ? 'V8 / native' : site === here || here === null ? site : `${site} (via ${here})`;
      sites.set(label, (sites.get(label) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here, site);
  };
  walk(head, null, null);
  return sites;
}

// ---------------------------------------------------------------------------------------------------------------
// The subscriber agent: a child process holding the WebSockets

type GroupMode = 'count' | 'record';

interface OpenCommand {
  readonly cmd: 'open';
  readonly group: string;
  readonly mode: GroupMode;
  readonly url: string;
  readonly apiKey: string;
  readonly subscriptions: number;
  readonly perSocket: number;
  readonly channel: string;
  readonly skus: readonly string[] | null;
  /** Adds `X-<subscription index>` to every subscriber's skus: no two subscribers share variables. */
  readonly distinctVariables: boolean;
}
type AgentCommand = OpenCommand | { readonly cmd: 'close' | 'status' | 'collect'; readonly group: string };
type AgentRequest = AgentCommand & { readonly requestId: number };

/** A change every subscription of a group received: when its first and last frame arrived (epoch ms). */
interface Completion {
  readonly group: string;
  readonly seq: number;
  readonly count: number;
  readonly atMs: number;
  readonly sku: string;
  readonly firstMs: number;
  readonly lastMs: number;
}

interface GroupStatus {
  readonly subscriptions: number;
  readonly openSockets: number;
  readonly duplicates: number;
  readonly reconnects: number;
  readonly errors: readonly string[];
  readonly closes: readonly string[];
  readonly latest: { readonly seq: number; readonly count: number } | null;
}

type AgentMessage =
  | { readonly kind: 'reply'; readonly requestId: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly requestId: number; readonly ok: false; readonly error: string }
  | ({ readonly kind: 'complete' } & Completion);

/** The bench's handle on the agent process. */
class Agent {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly completions: Completion[] = [];
  private readonly waiters: { readonly match: (c: Completion) => boolean; readonly resolve: (c: Completion) => void }[] = [];
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (raw) => {
      const message = raw as AgentMessage;
      if (message.kind === 'complete') {
        const waiter = this.waiters.findIndex((w) => w.match(message));
        if (waiter >= 0) this.waiters.splice(waiter, 1)[0]!.resolve(message);
        else this.completions.push(message);
        return;
      }
      const pending = this.pending.get(message.requestId);
      if (!pending) return;
      this.pending.delete(message.requestId);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(new Error(message.error));
    });
    child.once('exit', (code, signal) => {
      for (const { reject } of this.pending.values()) reject(new Error(`The subscriber agent exited (${signal ?? `code ${code}`}).`));
      this.pending.clear();
    });
  }

  static start(limitSeconds: number): Agent {
    // Its output goes to stderr: stdout carries only the report.
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--agent', String(limitSeconds)], { stdio: ['ignore', 2, 2, 'ipc'] });
    return new Agent(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  request<T>(command: AgentCommand, timeoutMs: number): Promise<T> {
    const requestId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`The subscriber agent did not answer "${command.cmd} ${command.group}" within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(requestId, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ ...command, requestId } satisfies AgentRequest);
    });
  }

  /** The first completion (already received or still to come) that matches, or null after `timeoutMs`. */
  completion(match: (c: Completion) => boolean, timeoutMs: number): Promise<Completion | null> {
    const index = this.completions.findIndex(match);
    if (index >= 0) return Promise.resolve(this.completions.splice(index, 1)[0]!);
    return new Promise((resolve) => {
      const waiter = { match, resolve: (c: Completion) => (clearTimeout(timer), resolve(c)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Closes the IPC channel, on which the agent exits (its sockets close with it); SIGKILL if it has not within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

const SEQ_TOKEN = Buffer.from('"seq":');
const ID_TOKEN = Buffer.from('"id":"');

/** Reads the decimal integer at `offset` in `data` (JSON digits), or -1. */
function intAt(data: Buffer, offset: number): number {
  let value = -1;
  for (let i = offset; i < data.length; i++) {
    const c = data[i]!;
    if (c < 48 || c > 57) break;
    value = (value < 0 ? 0 : value * 10) + c - 48;
  }
  return value;
}

interface InventoryFrame {
  readonly payload?: { readonly data?: { readonly inventoryChanged?: { readonly seq: number; readonly at: string; readonly sku: string } }; readonly errors?: unknown };
  readonly type: string;
}

class AgentGroup {
  readonly sockets: WebSocket[] = [];
  /** Last seq each subscription received: a seq not above it is a duplicate (or out of order). */
  private readonly lastSeq: Float64Array;
  private readonly perSeq = new Map<number, { count: number; firstMs: number; lastMs: number; atMs: number; sku: string }>();
  private latestSeq = 0;
  duplicates = 0;
  reconnects = 0;
  readonly errors: string[] = [];
  readonly closes: string[] = [];
  closing = false;
  /** Record mode: seq, at (epoch ms), received (epoch ms), flattened. */
  records: number[] = [];

  constructor(
    readonly name: string,
    readonly mode: GroupMode,
    readonly subscriptions: number,
  ) {
    this.lastSeq = new Float64Array(subscriptions);
  }

  /** Runs for every frame: kept to a few buffer scans so 10,000 frames a change cost the client little. */
  onFrame(data: Buffer, receivedMs: number): void {
    const seqAt = data.indexOf(SEQ_TOKEN);
    const idAt = data.indexOf(ID_TOKEN);
    const seq = seqAt < 0 ? -1 : intAt(data, seqAt + SEQ_TOKEN.length);
    const sub = idAt < 0 ? -1 : intAt(data, idAt + ID_TOKEN.length);
    if (seq < 0 || sub < 0 || sub >= this.subscriptions) {
      this.onOther(data);
      return;
    }
    if (seq <= this.lastSeq[sub]!) this.duplicates++;
    else this.lastSeq[sub] = seq;
    if (this.mode === 'record') {
      const event = (JSON.parse(data.toString('utf8')) as InventoryFrame).payload?.data?.inventoryChanged;
      this.records.push(seq, event ? Date.parse(event.at) : Number.NaN, receivedMs);
      return;
    }
    let entry = this.perSeq.get(seq);
    if (!entry) {
      // The first frame of a change is parsed whole: its commit time and SKU.
      const event = (JSON.parse(data.toString('utf8')) as InventoryFrame).payload?.data?.inventoryChanged;
      entry = { count: 0, firstMs: receivedMs, lastMs: receivedMs, atMs: event ? Date.parse(event.at) : Number.NaN, sku: event?.sku ?? '' };
      this.perSeq.set(seq, entry);
      if (seq > this.latestSeq) this.latestSeq = seq;
      if (this.perSeq.size > 64) this.perSeq.delete(this.perSeq.keys().next().value!);
    }
    entry.count++;
    entry.lastMs = receivedMs;
    if (entry.count === this.subscriptions) {
      const completion: AgentMessage = { kind: 'complete', group: this.name, seq, count: entry.count, atMs: entry.atMs, sku: entry.sku, firstMs: entry.firstMs, lastMs: entry.lastMs };
      process.send?.(completion);
    }
  }

  private onOther(data: Buffer): void {
    let frame: InventoryFrame;
    try {
      frame = JSON.parse(data.toString('utf8')) as InventoryFrame;
    } catch {
      this.errors.push(`unparseable frame: ${data.toString('utf8').slice(0, 200)}`);
      return;
    }
    if (frame.type === 'ping') return;
    if (this.errors.length < 20) this.errors.push(`${frame.type}: ${JSON.stringify(frame.payload ?? null).slice(0, 300)}`);
  }

  lastSeqOf(subscription: number): number {
    return this.lastSeq[subscription] ?? 0;
  }

  status(): GroupStatus {
    const latest = this.perSeq.get(this.latestSeq);
    return {
      subscriptions: this.subscriptions,
      openSockets: this.sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length,
      duplicates: this.duplicates,
      reconnects: this.reconnects,
      errors: this.errors.slice(0, 5),
      closes: this.closes.slice(0, 5),
      latest: latest ? { seq: this.latestSeq, count: latest.count } : null,
    };
  }
}

/**
 * Opens one socket: connection_init with the key, then every subscription once acknowledged. In record mode a
 * socket the gateway closes (4429, slow consumer) is reopened and resubscribed with `since` = the last seq each
 * subscription got, as the client helper (docs/client.md) does; counted as a reconnect.
 */
function openSocket(group: AgentGroup, command: OpenCommand, first: number, count: number, resume = false): Promise<WebSocket> {
  const url = command.url.replace(/^http/, 'ws');
  const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
  group.sockets.push(socket);
  return new Promise<WebSocket>((resolve, reject) => {
    let acknowledged = false;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`socket ${first / command.perSocket}: no connection_ack within 30 s`));
    }, 30_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${command.apiKey}` } })));
    socket.on('error', (error) => {
      if (!acknowledged) {
        clearTimeout(timer);
        reject(error);
      } else if (group.errors.length < 20) group.errors.push(`socket error: ${error.message}`);
    });
    socket.on('close', (code, reason) => {
      if (!acknowledged) {
        clearTimeout(timer);
        reject(new Error(`socket closed before connection_ack: ${code} ${reason.toString()}`));
      } else if (!group.closing) {
        group.closes.push(`${code} ${reason.toString()}`);
        if (group.mode === 'record') {
          group.reconnects++;
          openSocket(group, command, first, count, true).catch((error: unknown) => group.errors.push(`reconnect failed: ${error instanceof Error ? error.message : String(error)}`));
        }
      }
    });
    socket.on('message', (raw: WebSocket.RawData) => {
      const receivedMs = epochMs();
      const data = raw as Buffer;
      if (acknowledged) {
        group.onFrame(data, receivedMs);
        return;
      }
      const message = JSON.parse(data.toString('utf8')) as { type: string };
      if (message.type !== 'connection_ack') return;
      acknowledged = true;
      clearTimeout(timer);
      for (let i = first; i < first + count; i++) {
        const skus = command.skus === null ? null : command.distinctVariables ? [...command.skus, `X-${i}`] : command.skus;
        const since = resume ? group.lastSeqOf(i) : 0;
        const variables = { channel: command.channel, skus, ...(since > 0 ? { since } : {}) };
        socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: SUBSCRIPTION, operationName: 'Inventory', variables } }));
      }
      resolve(socket);
    });
  });
}

async function runAgent(limitSeconds: number): Promise<void> {
  // Never outlive the bench: its IPC channel closing (however it ended) or this limit ends the agent.
  setTimeout(() => process.exit(3), limitSeconds * 1000).unref();
  process.on('disconnect', () => process.exit(0));
  const groups = new Map<string, AgentGroup>();

  const handle = async (command: AgentCommand): Promise<unknown> => {
    if (command.cmd === 'open') {
      const group = new AgentGroup(command.group, command.mode, command.subscriptions);
      groups.set(command.group, group);
      const started = performance.now();
      const sockets = Math.ceil(command.subscriptions / command.perSocket);
      // A few sockets at a time: a burst of thousands of handshakes would time out on a busy gateway.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < sockets) {
          const index = next++;
          const first = index * command.perSocket;
          await openSocket(group, command, first, Math.min(command.perSocket, command.subscriptions - first));
        }
      };
      await Promise.all(Array.from({ length: Math.min(16, sockets) }, worker));
      return { sockets, ms: performance.now() - started };
    }
    const group = groups.get(command.group);
    if (!group) throw new Error(`No group "${command.group}".`);
    if (command.cmd === 'status') return group.status();
    if (command.cmd === 'collect') {
      const records = group.records;
      group.records = [];
      return records;
    }
    group.closing = true;
    await Promise.all(
      group.sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => (socket.terminate(), resolve()), 5_000);
            socket.once('close', () => (clearTimeout(timer), resolve()));
            socket.close(1000, 'bench done');
          }),
      ),
    );
    groups.delete(command.group);
    return group.status();
  };

  process.on('message', (message: unknown) => {
    const request = message as AgentRequest;
    handle(request).then(
      (value) => process.send?.({ kind: 'reply', requestId: request.requestId, ok: true, value } satisfies AgentMessage),
      (error: unknown) => process.send?.({ kind: 'reply', requestId: request.requestId, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies AgentMessage),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The bench

interface Bench {
  readonly options: ChangeFeedBenchOptions;
  readonly a: GatewayProcess;
  readonly b: GatewayProcess;
  /** B's inspector port (for a full GC before memory readings). */
  readonly inspectPort: number;
  readonly agent: Agent;
  readonly writer: GatewayAdjuster;
  readonly head: () => Promise<number>;
  /** One RECEIPT of +1 on a position of `sku` at DC-EU-1, through replica A. */
  readonly change: (sku: string) => Promise<void>;
  readonly db: mongo.Db;
  readonly cpu: ProcessCpu;
  readonly windows: Record<string, [number, number][]>;
}

async function runBench(options: ChangeFeedBenchOptions, cleanup: Cleanup): Promise<ChangeFeedReport> {
  // Both gateways share the DATA_DIR: B finds the demo keys A wrote (it does not seed a store that has data).
  const { loadAtStart, store, dbName, dataDir, client } = await openBenchRun(cleanup, 'cf');

  progress('starting a private redis-server');
  const redis = await startBenchRedis();
  cleanup.add('stop redis-server', () => redis.stop());

  // startGatewayProcess passes this process's environment on: both replicas use the bench's Redis.
  process.env['REDIS_URL'] = redis.url;
  progress('starting gateway A and seeding the demo catalog (~10-20 s); A takes the relay lease');
  const a = await startGatewayProcess({ mongoUri: store.uri, dbName, dataDir, startTimeoutMs: 120_000, nodeArgs: options.gatewayNodeArgs, countCommands: options.countCommands });
  cleanup.add('stop gateway A', () => a.stop());
  progress('starting gateway B (same database and Redis)');
  // B's inspector (127.0.0.1 only) lets the RSS phase run a full GC before each reading; no session is attached otherwise.
  const inspectPort = await freePort();
  const b = await startGatewayProcess({ mongoUri: store.uri, dbName, dataDir, startTimeoutMs: 120_000, nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`], countCommands: options.countCommands });
  cleanup.add('stop gateway B', () => b.stop());
  const keyOf = (name: string): string => {
    const key = a.keys.find((k) => k.name === name)?.key;
    if (!key) throw new Error(`The gateway wrote no "${name}" key to demo-keys.json; got ${a.keys.map((k) => k.name).join(', ')}.`);
    return key;
  };
  const writerKey = keyOf(WRITER_KEY);
  const subscriberKey = keyOf(SUBSCRIBER_KEY);

  const agent = Agent.start(options.hardLimitSeconds + 30);
  cleanup.add('stop the subscriber agent (closes its sockets)', () => agent.stop());

  const cores = cpus().length;
  const rest = cores > 2 ? `1-${cores - 1}` : '1';
  let pinning = 'none (--no-pin)';
  let pinned: [string, number | null, string][] = [];
  if (options.pin && cores >= 2) {
    const targets: [string, number | null, string][] = [
      ['gateway A', a.pid, '0'],
      ['gateway B', b.pid, rest],
      ['store', store.pid, rest],
      ['redis-server', redis.pid, rest],
      ['subscriber client', agent.pid, rest],
      ['bench', process.pid, rest],
    ];
    // No pid for the store with MONGODB_URI: it runs elsewhere.
    const refused = targets.filter(([, pid, list]) => pid !== null && !pinTo(pid, list)).map(([name]) => name);
    pinned = targets;
    pinning =
      refused.length === 0
        ? `gateway A alone on core 0; gateway B, the store, redis-server, the subscriber client and the bench on core${cores > 2 ? 's' : ''} ${rest} (taskset -a)`
        : `partial: taskset failed for ${refused.join(', ')}`;
  } else if (options.pin) pinning = 'none (1 core)';
  progress(`pinning: ${pinning}`);

  const skuCodes = shuffled(await new RawReads(client.db(dbName)).skuCodes());
  const fanOutSkus = skuCodes.slice(0, 3);
  const writerSkus = skuCodes.slice(3, 3 + Math.ceil(WRITER_POSITIONS / LOCATIONS.length));
  if (fanOutSkus.length < 3 || writerSkus.length * LOCATIONS.length < WRITER_POSITIONS) throw new Error(`Expected the demo catalog (~2,250 SKUs) in ${dbName}, found ${skuCodes.length} SKUs.`);
  const writerPositions = writerSkus.flatMap((sku) => LOCATIONS.map((location) => ({ sku, location })));

  const writer = new GatewayAdjuster(a.url, writerKey, MAX_WRITES_IN_FLIGHT);
  cleanup.add('close the GraphQL clients', async () => writer.close());
  const headClient = new GraphqlClient(a.url, writerKey);
  cleanup.add('close the head client', async () => headClient.close());
  const head = async (): Promise<number> => (await headClient.post<{ changeFeedHead: number }>(Buffer.from(JSON.stringify({ query: 'query Head { changeFeedHead }' })))).changeFeedHead;
  let changes = 0;
  const change = async (sku: string): Promise<void> => {
    const n = ++changes;
    const applied = await writer.adjust(`bench-cf-change-${n}`, [{ sku, location: LOCATIONS[0], delta: 1, reason: 'RECEIPT', referenceDocument: 'BENCH-CF' }]);
    if (!applied) throw new Error(`Change ${n} (${sku}) was not applied.`);
  };

  progress(`creating ${writerPositions.length + fanOutSkus.length} positions before timing`);
  const setupItems: AdjustmentItem[] = [...fanOutSkus.map((sku) => ({ sku, location: LOCATIONS[0] })), ...writerPositions].map((p) => ({ ...p, delta: 1_000, reason: 'RECEIPT' as const, referenceDocument: 'BENCH-CF-SETUP' }));
  for (let start = 0; start < setupItems.length; start += SETUP_BATCH) {
    if (!(await writer.adjust(`bench-cf-setup-${start}`, setupItems.slice(start, start + SETUP_BATCH)))) throw new Error('The setup receipts were not applied.');
  }
  await settle(head);

  const cpu = new ProcessCpu({ 'gateway A': a.pid, 'gateway B': b.pid, store: store.pid, redis: redis.pid, 'subscriber client': agent.pid, bench: process.pid });
  const relayHolder = async (): Promise<string> => {
    const [onA, onB] = await Promise.all([gatewayGauges(a.url), gatewayGauges(b.url)]);
    return onA.get('change_relay_active') === 1 ? 'gateway A' : onB.get('change_relay_active') === 1 ? 'gateway B' : 'unknown (no change_relay_active gauge)';
  };
  const relayAtStart = await relayHolder();
  progress(`relay lease: ${relayAtStart}`);
  const bench: Bench = { options, a, b, inspectPort, agent, writer, head, change, db: client.db(dbName), cpu, windows: {} };
  const rss = options.phases.includes('rss') ? await measureRss(bench, subscriberKey, fanOutSkus[2]!) : null;
  const fanOut = options.phases.includes('fanout') ? await measureFanOut(bench, subscriberKey, fanOutSkus[0]!, fanOutSkus[1]!) : null;
  let replicaPinning = pinning;
  if (options.phases.includes('replica') && pinned.length > 0 && !options.pinReplica) {
    // Pinned, gateway B would share one core with the store (whose collections then stall it), the subscriber
    // client and the bench while A has a core of its own; the cross-replica goal names no core.
    const all = `0-${cores - 1}`;
    const refused = pinned.filter(([, pid]) => pid !== null && !pinTo(pid, all)).map(([name]) => name);
    replicaPinning = refused.length === 0 ? 'none: every process on every core (--pin-replica keeps the pinning above)' : `partial: taskset failed to unpin ${refused.join(', ')}`;
    progress(`pinning for the cross-replica passes: ${replicaPinning}`);
  }
  const replica = options.phases.includes('replica') ? await measureReplica(bench, subscriberKey, writerPositions, fanOutSkus[2]!) : null;
  const relayAtEnd = await relayHolder();

  return {
    environment: {
      ...machineEnvironment(store, loadAtStart),
      redis: `redis-server ${redis.version}`,
      skuCount: skuCodes.length,
      pinning,
      replicaPinning,
      relay: relayAtStart === relayAtEnd ? relayAtStart : `${relayAtStart} at the start, ${relayAtEnd} at the end`,
    },
    settings: {
      quick: options.quick,
      subscribers: options.subscribers,
      perSocket: options.perSocket,
      changes: options.changes,
      rate: options.rate,
      lightRate: options.lightRate,
      seconds: options.seconds,
      batch: options.batch,
      sockets: options.sockets,
      heapSampling: options.heapSampling,
      countCommands: options.countCommands,
      phases: options.phases.join(','),
      subscriberKey: SUBSCRIBER_KEY,
      channel: CHANNEL,
    },
    rss,
    fanOut,
    replica,
    gatewayWindowsUs: bench.windows,
  };
}

/** Waits until the change log's head stops moving (the relay has logged the setup and what it derived). */
async function settle(head: () => Promise<number>): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = await head();
  for (;;) {
    await sleep(1_000);
    const now = await head();
    if (now === last) return;
    if (Date.now() > deadline) throw new Error(`The change log kept growing for 60 s (head ${now}): the relay never settled.`);
    last = now;
  }
}

/**
 * Sends changes until one reaches every subscription of `group` (subscriptions attach asynchronously after their
 * subscribe message: a store read per subscription), then `warmup` more.
 */
async function untilAllAttached(bench: Bench, group: string, sku: string, limitMs: number, warmup: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  let seq = await bench.head();
  for (;;) {
    const from = seq;
    await bench.change(sku);
    const done = await bench.agent.completion((c) => c.group === group && c.seq > from, 3_000);
    if (done) {
      seq = done.seq;
      break;
    }
    seq = await bench.head();
    if (Date.now() > deadline) {
      const status = await bench.agent.request<GroupStatus>({ cmd: 'status', group }, 10_000);
      throw new Error(`Not every subscription of "${group}" received a change within ${limitMs / 1000} s: ${JSON.stringify(status)}`);
    }
  }
  for (let i = 0; i < warmup; i++) {
    const from = seq;
    await bench.change(sku);
    const done = await bench.agent.completion((c) => c.group === group && c.seq > from, FANOUT_CHANGE_TIMEOUT_MS);
    if (!done) throw new Error(`A warm-up change did not reach every subscription of "${group}" within ${FANOUT_CHANGE_TIMEOUT_MS / 1000} s.`);
    seq = done.seq;
  }
}

async function measureRss(bench: Bench, apiKey: string, sku: string): Promise<RssResult> {
  const { options } = bench;
  progress(`RSS: gateway B after a full GC with 0, ${Math.floor(options.sockets / 2)} and ${options.sockets} sockets open, one subscription each`);
  const inspector = await InspectorSession.open(bench.inspectPort);
  try {
    return await measureRssWith(bench, apiKey, sku, inspector);
  } finally {
    inspector.close();
  }
}

async function measureRssWith(bench: Bench, apiKey: string, sku: string, inspector: InspectorSession): Promise<RssResult> {
  const { b, agent, options } = bench;
  const step = async (sockets: number): Promise<RssStep> => {
    await sleep(1_000);
    await inspector.collectGarbage();
    await sleep(500);
    const rss = await steadyRss(b.pid);
    const gauges = await gatewayGauges(b.url);
    const mb = (name: string): number | null => (gauges.has(name) ? gauges.get(name)! / 2 ** 20 : null);
    return { sockets, rssMb: rss / 2 ** 20, heapUsedMb: mb('nodejs_heap_size_used_bytes'), externalMb: mb('nodejs_external_memory_bytes') };
  };
  const steps = [await step(0)];
  // 1 KB between samples: ~40 samples per socket, enough to rank the sites.
  if (options.heapSampling) await inspector.call('HeapProfiler.startSampling', { samplingInterval: 1024 });
  const halves = [Math.floor(options.sockets / 2), options.sockets - Math.floor(options.sockets / 2)];
  for (const [i, sockets] of halves.entries()) {
    const group = `rss-${i + 1}`;
    await agent.request({ cmd: 'open', group, mode: 'count', url: b.url, apiKey, subscriptions: sockets, perSocket: 1, channel: CHANNEL, skus: [sku], distinctVariables: false }, 120_000);
    // Every subscription attached and through one event (its first send allocates the socket's write path).
    await untilAllAttached(bench, group, sku, 60_000, 1);
    steps.push(await step(steps[steps.length - 1]!.sockets + sockets));
  }
  let liveKbPerSocketBySite: Record<string, number> | null = null;
  if (options.heapSampling) {
    await inspector.collectGarbage();
    const { profile } = await inspector.call<{ profile: { head: SamplingNode } }>('HeapProfiler.stopSampling');
    const sites = [...liveBySite(profile.head)].sort((x1, x2) => x2[1] - x1[1]);
    liveKbPerSocketBySite = Object.fromEntries(sites.slice(0, 15).map(([site, bytes]) => [site, bytes / 1024 / options.sockets]));
    liveKbPerSocketBySite['(all sampled)'] = sites.reduce((sum, [, bytes]) => sum + bytes, 0) / 1024 / options.sockets;
  }
  for (const group of ['rss-1', 'rss-2']) {
    const status = await agent.request<GroupStatus>({ cmd: 'close', group }, 60_000);
    if (status.errors.length > 0 || status.closes.length > 0) throw new Error(`RSS phase: subscription errors ${JSON.stringify(status)}`);
  }
  const [zero, half, full] = steps as [RssStep, RssStep, RssStep];
  const per = (from: RssStep, to: RssStep, pick: (s: RssStep) => number | null): number | null => {
    const was = pick(from);
    const is = pick(to);
    return was === null || is === null ? null : ((is - was) * 1024) / (to.sockets - from.sockets);
  };
  const perSocketKb = per(zero, full, (s) => s.rssMb)!;
  const heapUsedPerSocketKb = per(zero, full, (s) => s.heapUsedMb);
  await sleep(1_000);
  return {
    sockets: options.sockets,
    steps,
    perSocketKb,
    secondHalfPerSocketKb: per(half, full, (s) => s.rssMb)!,
    heapUsedPerSocketKb,
    externalPerSocketKb: per(zero, full, (s) => s.externalMb),
    liveKbPerSocketBySite,
    rssAgreesWithHeap: heapUsedPerSocketKb === null || Math.abs(perSocketKb - heapUsedPerSocketKb) <= 0.25 * Math.abs(heapUsedPerSocketKb),
    goal: { kb: GOALS.rssPerSocketKb, met: perSocketKb <= GOALS.rssPerSocketKb && (heapUsedPerSocketKb ?? 0) <= GOALS.rssPerSocketKb },
  };
}

async function measureFanOut(bench: Bench, apiKey: string, groupedSku: string, naiveSku: string): Promise<FanOutResult> {
  const { a, agent, options } = bench;
  const sides = [
    { name: 'grouped', sku: groupedSku, distinct: false },
    { name: 'naive', sku: naiveSku, distinct: true },
  ] as const;
  const opened = performance.now();
  for (const side of sides) {
    progress(`fan-out: opening ${options.subscribers} ${side.name} subscriptions on gateway A (${Math.ceil(options.subscribers / options.perSocket)} sockets × ${options.perSocket})`);
    await agent.request({ cmd: 'open', group: side.name, mode: 'count', url: a.url, apiKey, subscriptions: options.subscribers, perSocket: options.perSocket, channel: CHANNEL, skus: [side.sku], distinctVariables: side.distinct }, 300_000);
  }
  for (const side of sides) await untilAllAttached(bench, side.name, side.sku, 180_000, FANOUT_WARMUP_CHANGES);
  const openSeconds = (performance.now() - opened) / 1000;

  type Sample = { readonly completion: Completion | null; readonly sentMs: number; readonly gatewayCpuMs: number; readonly clientCpuMs: number };
  const samples: Record<'grouped' | 'naive', Sample[]> = { grouped: [], naive: [] };
  progress(`fan-out: ${options.changes} changes per side, alternating (ABBA)`);
  const windows = { grouped: (bench.windows['fanout-grouped'] = [] as [number, number][]), naive: (bench.windows['fanout-naive'] = [] as [number, number][]) };
  const phaseCpu = bench.cpu.start();
  for (let round = 0; round < options.changes; round++) {
    const order = round % 2 === 0 ? [sides[0], sides[1]] : [sides[1], sides[0]];
    for (const side of order) {
      const from = await bench.head();
      const cpuBefore = [cpuMs(a.pid), cpuMs(agent.pid)];
      const sentMs = epochMs();
      const begun = monotonicUs();
      await bench.change(side.sku);
      const completion = await agent.completion((c) => c.group === side.name && c.seq > from, FANOUT_CHANGE_TIMEOUT_MS);
      windows[side.name].push([begun, monotonicUs()]);
      const cpuAfter = [cpuMs(a.pid), cpuMs(agent.pid)];
      samples[side.name].push({ completion, sentMs, gatewayCpuMs: (cpuAfter[0] ?? 0) - (cpuBefore[0] ?? 0), clientCpuMs: (cpuAfter[1] ?? 0) - (cpuBefore[1] ?? 0) });
      if (completion && completion.sku !== side.sku) throw new Error(`The ${side.name} subscribers got a change of ${completion.sku}, expected ${side.sku}.`);
      await sleep(FANOUT_PAUSE_MS);
    }
  }
  const cpu = phaseCpu();
  const loggedAt = await loggedAtOf(bench.db, [...samples.grouped, ...samples.naive].flatMap((sample) => (sample.completion ? [sample.completion.seq] : [])));
  const statuses = await Promise.all(sides.map((side) => agent.request<GroupStatus>({ cmd: 'close', group: side.name }, 120_000)));
  await sleep(2_000); // the gateway tears 2 × N subscriptions down before the next phase

  const summarizeSide = (name: 'grouped' | 'naive'): FanOutSide => {
    const done = samples[name].filter((s): s is Sample & { completion: Completion } => s.completion !== null);
    if (done.length === 0) throw new Error(`No ${name} change reached every subscriber.`);
    return {
      subscriptions: options.subscribers,
      lastMs: spread(done.map((s) => s.completion.lastMs - s.completion.atMs)),
      firstMs: spread(done.map((s) => s.completion.firstMs - s.completion.atMs)),
      spreadMs: spread(done.map((s) => s.completion.lastMs - s.completion.firstMs)),
      relayMs: spread(done.map((s) => (loggedAt.get(s.completion.seq) ?? Number.NaN) - s.completion.atMs)),
      loggedToLastMs: spread(done.map((s) => s.completion.lastMs - (loggedAt.get(s.completion.seq) ?? Number.NaN))),
      fromSendMs: spread(done.map((s) => s.completion.lastMs - s.sentMs)),
      gatewayCpuMsPerChange: done.reduce((sum, s) => sum + s.gatewayCpuMs, 0) / done.length,
      clientCpuMsPerChange: done.reduce((sum, s) => sum + s.clientCpuMs, 0) / done.length,
      incompleteChanges: samples[name].length - done.length,
    };
  };
  const grouped = summarizeSide('grouped');
  const naive = summarizeSide('naive');
  return {
    subscribersPerSide: options.subscribers,
    socketsPerSide: Math.ceil(options.subscribers / options.perSocket),
    perSocket: options.perSocket,
    changesPerSide: options.changes,
    openSeconds,
    grouped,
    naive,
    naiveOverGrouped: {
      lastP50: naive.lastMs.p50 / grouped.lastMs.p50,
      lastP99: naive.lastMs.p99 / grouped.lastMs.p99,
      spreadP50: naive.spreadMs.p50 / grouped.spreadMs.p50,
      gatewayCpu: naive.gatewayCpuMsPerChange / grouped.gatewayCpuMsPerChange,
    },
    duplicates: statuses.reduce((sum, s) => sum + s.duplicates, 0),
    errors: statuses.flatMap((s) => [...s.errors, ...s.closes.map((close) => `closed: ${close}`)]),
    cpu,
    goal: { p99Ms: GOALS.fanOutP99Ms, measuredP99Ms: grouped.lastMs.p99, met: grouped.lastMs.p99 <= GOALS.fanOutP99Ms },
  };
}

async function measureReplica(bench: Bench, apiKey: string, positions: readonly { sku: string; location: string }[], probeSku: string): Promise<ReplicaResult> {
  const { b, agent, options } = bench;
  progress('cross-replica: one subscriber on gateway B, the writer on gateway A');
  await agent.request({ cmd: 'open', group: 'replica', mode: 'record', url: b.url, apiKey, subscriptions: 1, perSocket: 1, channel: CHANNEL, skus: null, distinctVariables: false }, 60_000);
  // Probe until the subscription is attached, then drop what it got.
  const probeDeadline = Date.now() + 60_000;
  for (;;) {
    await bench.change(probeSku);
    await sleep(500);
    if ((await agent.request<number[]>({ cmd: 'collect', group: 'replica' }, 10_000)).length > 0) break;
    if (Date.now() > probeDeadline) throw new Error('The subscriber on gateway B received nothing for 60 s.');
  }
  const rates: [string, number, number][] = [
    ['warm-up', options.rate, REPLICA_WARMUP_SECONDS],
    ...(options.lightRate > 0 ? ([['light', options.lightRate, options.seconds]] as [string, number, number][]) : []),
    ['target', options.rate, options.seconds],
  ];
  const passes: ReplicaPass[] = [];
  let nextRequest = 0;
  for (const [name, rate, seconds] of rates) {
    await settle(bench.head);
    await agent.request<number[]>({ cmd: 'collect', group: 'replica' }, 10_000);
    const pass = await replicaPass(bench, name, rate, seconds, positions, nextRequest);
    nextRequest += pass.requests;
    // Its figures are not reported, but an event lost or repeated there is still a failed run.
    if (name === 'warm-up' && (!pass.exactlyOnce || pass.failedRequests > 0)) throw new Error(`cross-replica warm-up: ${pass.failedRequests} failed requests, ${pass.missing} events missing, ${pass.duplicates} duplicated, ${pass.outOfOrder} out of order on B`);
    if (name !== 'warm-up') passes.push(pass);
  }
  const status = await agent.request<GroupStatus>({ cmd: 'close', group: 'replica' }, 30_000);
  if (status.errors.length > 0) throw new Error(`cross-replica: subscription errors ${JSON.stringify(status)}`);
  return { passes, closes: status.closes };
}

async function replicaPass(bench: Bench, name: string, rate: number, seconds: number, positions: readonly { sku: string; location: string }[], firstRequest: number): Promise<ReplicaPass> {
  const { a, b, agent, writer, options } = bench;
  const requests = Math.max(1, Math.floor((rate * seconds) / options.batch));
  const intervalMs = (1000 * options.batch) / rate;
  progress(`cross-replica, ${name}: ${requests} requests of ${options.batch} items to A, one every ${intervalMs.toFixed(1)} ms (${rate} items/s for ${seconds} s)${name === 'warm-up' ? ', not reported' : ''}`);
  const headBefore = await bench.head();
  const reconnectsBefore = (await agent.request<GroupStatus>({ cmd: 'status', group: 'replica' }, 10_000)).reconnects;
  const commandsBefore = options.countCommands ? await Promise.all([storeCommandCounts(a.url), storeCommandCounts(b.url)]) : null;
  const collisionsBefore = await relayCollisionCount(bench);
  const cpuWindow = bench.cpu.start();
  const begun = monotonicUs();
  let inFlight = 0;
  let applied = 0;
  let failed = 0;
  let firstError: string | null = null;
  const mutationMs: number[] = [];
  const sent: Promise<void>[] = [];
  const startedMs = epochMs();
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const wait = started + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight >= MAX_WRITES_IN_FLIGHT) await sleep(1);
    const n = firstRequest + i;
    const items: AdjustmentItem[] = Array.from({ length: options.batch }, (_, j) => ({ ...positions[(n * options.batch + j) % positions.length]!, delta: 1, reason: 'RECEIPT', referenceDocument: 'BENCH-CF-RATE' }));
    inFlight++;
    const t0 = performance.now();
    sent.push(
      writer
        .adjust(`bench-cf-rate-${n}`, items)
        .then(
          (result) => {
            if (result) applied += items.length;
            else {
              failed++;
              firstError ??= `request ${n} was not applied in full`;
            }
          },
          (error: unknown) => {
            failed++;
            firstError ??= error instanceof Error ? error.message : String(error);
          },
        )
        .finally(() => {
          inFlight--;
          mutationMs.push(performance.now() - t0);
        }),
    );
  }
  await Promise.all(sent);
  const writtenMs = epochMs();
  const writeSeconds = (performance.now() - started) / 1000;

  // Everything applied must arrive; the relay may still have a backlog.
  const records: number[] = [];
  const deadline = Date.now() + REPLICA_TAIL_LIMIT_MS;
  let lastProgress = Date.now();
  while (records.length / 3 < applied && Date.now() < deadline) {
    await sleep(250);
    // A loop, not push(...batch): a long pass collects hundreds of thousands of numbers at once (stack overflow).
    for (const value of await agent.request<number[]>({ cmd: 'collect', group: 'replica' }, 10_000)) records.push(value);
    if (Date.now() - lastProgress > 10_000) {
      lastProgress = Date.now();
      progress(`cross-replica, ${name}: ${records.length / 3} of ${applied} events on B so far; waiting for the relay's backlog`);
    }
  }
  bench.windows[`replica-${name}`] = [[begun, monotonicUs()]];
  const cpu = cpuWindow();
  const commandsAfter = commandsBefore ? await Promise.all([storeCommandCounts(a.url), storeCommandCounts(b.url)]) : null;
  const relayCollisions = (await relayCollisionCount(bench)) - collisionsBefore;
  await sleep(1_000); // anything extra (a duplicate) would arrive now
  for (const value of await agent.request<number[]>({ cmd: 'collect', group: 'replica' }, 10_000)) records.push(value);
  const reconnects = (await agent.request<GroupStatus>({ cmd: 'status', group: 'replica' }, 10_000)).reconnects - reconnectsBefore;

  const latencies: number[] = [];
  const seqs = new Set<number>();
  let outOfOrder = 0;
  let previous = 0;
  let lastReceivedMs = startedMs;
  for (let i = 0; i < records.length; i += 3) {
    const seq = records[i]!;
    latencies.push(records[i + 2]! - records[i + 1]!);
    lastReceivedMs = Math.max(lastReceivedMs, records[i + 2]!);
    if (seq <= previous) outOfOrder++;
    seqs.add(seq);
    previous = Math.max(previous, seq);
  }
  const received = records.length / 3;
  const duplicates = received - seqs.size;
  const missing = Math.max(0, applied - seqs.size);
  const missingDiagnosis =
    missing > 0
      ? {
          loggedInventoryEvents: await bench.db.collection('change_log').countDocuments({ _id: { $gt: headBefore }, entity: 'InventoryPosition' } as never),
          positionsWithPendingOutbox: await bench.db.collection('inventory_positions').countDocuments({ outboxAt: { $exists: true } }),
        }
      : null;
  const latencyMs = latencies.length > 0 ? spread(latencies) : null;
  const loggedAt = await loggedAtOf(bench.db, [...seqs]);
  const relay: number[] = [];
  const afterLog: number[] = [];
  const perBatch = new Map<number, number>();
  for (let i = 0; i < records.length; i += 3) {
    const logged = loggedAt.get(records[i]!);
    if (logged === undefined) continue;
    relay.push(logged - records[i + 1]!);
    afterLog.push(records[i + 2]! - logged);
    perBatch.set(logged, (perBatch.get(logged) ?? 0) + 1);
  }
  const batchSizes = [...perBatch.values()];
  return {
    name,
    targetItemsPerSecond: rate,
    itemsPerRequest: options.batch,
    seconds,
    requests,
    failedRequests: failed,
    firstError,
    itemsApplied: applied,
    achievedItemsPerSecond: applied / writeSeconds,
    mutationMs: spread(mutationMs),
    latencyMs,
    relayMs: relay.length > 0 ? spread(relay) : null,
    loggedToReceivedMs: afterLog.length > 0 ? spread(afterLog) : null,
    relayBatches: batchSizes.length > 0 ? { count: batchSizes.length, eventsP50: summarize(batchSizes).p50, eventsMax: Math.max(...batchSizes) } : null,
    relayCollisions,
    received,
    distinctSeqs: seqs.size,
    duplicates,
    outOfOrder,
    missing,
    exactlyOnce: failed === 0 && missing === 0 && duplicates === 0 && outOfOrder === 0 && seqs.size === applied,
    tailSeconds: missing === 0 ? Math.max(0, lastReceivedMs - writtenMs) / 1000 : null,
    deliveredPerSecond: received / Math.max(0.001, (lastReceivedMs - startedMs) / 1000),
    reconnects,
    missingDiagnosis,
    cpu,
    storeCommandsPerItem:
      commandsBefore && commandsAfter
        ? { a: commandsPerRequest(commandsBefore[0], commandsAfter[0], applied), b: commandsPerRequest(commandsBefore[1], commandsAfter[1], applied) }
        : null,
    goal: {
      p50Ms: GOALS.replicaP50Ms,
      p99Ms: GOALS.replicaP99Ms,
      p50Met: latencyMs !== null && latencyMs.p50 <= GOALS.replicaP50Ms,
      p99Met: latencyMs !== null && latencyMs.p99 <= GOALS.replicaP99Ms,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Output

const ms = (value: number): string => (Number.isNaN(value) ? 'n/a' : value.toFixed(Math.abs(value) < 10 ? 2 : 1));
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const x = (value: number): string => `${value.toFixed(2)}×`;
const verdict = (met: boolean, measured: number, goal: number): string => (met ? `met (goal ≤ ${goal})` : `MISSED by ${ms(measured - goal)} (${x(measured / goal)} the goal of ${goal})`);
const row = (cells: readonly string[], widths: readonly number[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');

/** Cores busy with other work above which figures are flagged as taken on a shared machine. */
const BUSY_NEIGHBOUR_CORES = 0.3;

function formatChangeFeedReport(report: ChangeFeedReport): string {
  const env = report.environment;
  const lines = [
    '',
    'retail-sync-gateway change-feed bench (issue 5): fan-out, cross-replica latency, RSS per socket, one run',
    `node ${env.node} on ${env.platform}, ${env.cpus} × ${env.cpuModel}, ${env.memoryGb} GB, load average ${env.loadAverageAtStart.toFixed(2)} at start`,
    `store: ${env.store}; ${int(env.skuCount)} SKUs; bus: ${env.redis} (private, 127.0.0.1)`,
    `pinning: ${env.pinning}; relay lease held by ${env.relay}`,
    `pinning for the cross-replica passes: ${env.replicaPinning}`,
    `settings: ${Object.entries(report.settings).map(([key, value]) => `${key}=${String(value)}`).join(' ')}`,
  ];
  const other = (cpu: CpuWindow): string => (cpu.otherCores === null ? 'n/a' : `${cpu.otherCores.toFixed(2)} cores${cpu.otherCores >= BUSY_NEIGHBOUR_CORES ? ' (! shared machine: expect noisier figures)' : ''}`);
  const m = report.rss;
  if (m) {
    const kb = (value: number | null): string => (value === null ? 'n/a' : `${value.toFixed(1)} KB`);
    lines.push(
      '',
      `RSS per open socket: gateway B, sockets with one subscription each, every subscription through one event; each reading after a full GC (inspector)`,
      row(['sockets open', 'VmRSS MB', 'heap used MB', 'external MB'], [14, 10, 13, 12]),
      ...m.steps.map((step) => row([int(step.sockets), step.rssMb.toFixed(1), step.heapUsedMb?.toFixed(1) ?? 'n/a', step.externalMb?.toFixed(1) ?? 'n/a'], [14, 10, 13, 12])),
      `per socket, 0 → ${int(m.sockets)}: ${kb(m.perSocketKb)} RSS (V8 heap used ${kb(m.heapUsedPerSocketKb)}, external ${kb(m.externalPerSocketKb)}); second half alone: ${kb(m.secondHalfPerSocketKb)} RSS`,
      m.goal.met || m.perSocketKb > m.goal.kb
        ? `goal: ≤ ${m.goal.kb} KB per socket: ${kb(m.perSocketKb)}, ${verdict(m.goal.met, m.perSocketKb, m.goal.kb)}`
        : `goal: ≤ ${m.goal.kb} KB per socket: RSS ${kb(m.perSocketKb)}, but the live V8 heap alone is ${kb(m.heapUsedPerSocketKb)}: ${verdict(false, m.heapUsedPerSocketKb ?? 0, m.goal.kb)}`,
    );
    if (!m.rssAgreesWithHeap) lines.push('  ! VmRSS and the V8 heap disagree by more than a quarter: V8 committed or released heap pages between readings; the heap figure is the steadier one (more --sockets help)');
    if (m.liveKbPerSocketBySite) {
      lines.push('live memory per socket by allocation site (sampling heap profile of B, after a full GC):');
      for (const [site, value] of Object.entries(m.liveKbPerSocketBySite)) lines.push(`  ${value.toFixed(2).padStart(6)} KB  ${site}`);
    }
  }
  const f = report.fanOut;
  if (f) {
    const widths = [44, 9, 9, 9, 9];
    const side = (label: string, s: Spread): string => row([label, ms(s.p50), ms(s.p99), ms(s.max), ms(s.mean)], widths);
    lines.push(
      '',
      `Fan-out on one gateway process (A): one change to ${int(f.subscribersPerSide)} subscribers per side (${f.socketsPerSide} sockets × ${f.perSocket}), ${f.changesPerSide} changes per side, alternating`,
      `ms from the commit (the event's \`at\`) to a frame arriving at the client; both sides subscribed at once (${int(2 * f.subscribersPerSide)} streams, opened in ${f.openSeconds.toFixed(1)} s)`,
      row(['', 'p50', 'p99', 'max', 'mean'], widths),
      side('grouped (as is): last subscriber received', f.grouped.lastMs),
      side('  first subscriber received', f.grouped.firstMs),
      side('  first → last', f.grouped.spreadMs),
      side('  commit → logged by the relay', f.grouped.relayMs),
      side('  logged → last subscriber', f.grouped.loggedToLastMs),
      side('naive (each re-executes): last subscriber', f.naive.lastMs),
      side('  first subscriber received', f.naive.firstMs),
      side('  first → last', f.naive.spreadMs),
      side('  commit → logged by the relay', f.naive.relayMs),
      side('  logged → last subscriber', f.naive.loggedToLastMs),
      `gateway A CPU per change (mutation, relay, fan-out): grouped ${ms(f.grouped.gatewayCpuMsPerChange)} ms, naive ${ms(f.naive.gatewayCpuMsPerChange)} ms; subscriber client CPU per change: ${ms(f.grouped.clientCpuMsPerChange)} / ${ms(f.naive.clientCpuMsPerChange)} ms`,
      `naive ÷ grouped: last p50 ${x(f.naiveOverGrouped.lastP50)}, last p99 ${x(f.naiveOverGrouped.lastP99)}, gateway CPU ${x(f.naiveOverGrouped.gatewayCpu)}`,
      `other processes on the machine meanwhile: ${other(f.cpu)}`,
      `goal: p99 of "last subscriber received" ≤ ${f.goal.p99Ms} ms on one core (grouped): ${ms(f.goal.measuredP99Ms)} ms, ${verdict(f.goal.met, f.goal.measuredP99Ms, f.goal.p99Ms)}`,
    );
    if (f.grouped.incompleteChanges + f.naive.incompleteChanges > 0) lines.push(`  ! changes that did not reach every subscriber within ${FANOUT_CHANGE_TIMEOUT_MS / 1000} s: grouped ${f.grouped.incompleteChanges}, naive ${f.naive.incompleteChanges}`);
    if (f.duplicates > 0 || f.errors.length > 0) lines.push(`  ! duplicates ${f.duplicates}; errors: ${f.errors.slice(0, 3).join(' | ')}`);
  }
  const r = report.replica;
  if (r) {
    const widths = [10, 11, 11, 9, 9, 9, 9, 9, 19];
    lines.push(
      '',
      `Cross-replica: adjustInventory on gateway A (${r.passes[0]?.itemsPerRequest ?? '?'} items per request, paced), one subscriber on gateway B, Redis between them; ${REPLICA_WARMUP_SECONDS} s at the target rate first, not reported`,
      'latency = receive on B − the event\'s `at` (A stamps it just before the position write; ms resolution)',
      row(['pass', 'target/s', 'achieved/s', 'p50 ms', 'p99 ms', 'max ms', 'mut p50', 'tail s', 'events on B'], widths),
      ...r.passes.map((p) =>
        row(
          [
            p.name,
            int(p.targetItemsPerSecond),
            int(p.achievedItemsPerSecond),
            p.latencyMs ? ms(p.latencyMs.p50) : 'n/a',
            p.latencyMs ? ms(p.latencyMs.p99) : 'n/a',
            p.latencyMs ? ms(p.latencyMs.max) : 'n/a',
            ms(p.mutationMs.p50),
            p.tailSeconds === null ? 'n/a' : p.tailSeconds.toFixed(1),
            `${int(p.distinctSeqs)}/${int(p.itemsApplied)}${p.exactlyOnce ? ' once' : ' !'}`,
          ],
          widths,
        ),
      ),
    );
    for (const p of r.passes) {
      const cpu = Object.entries(p.cpu.processesMs).map(([name, value]) => `${name} ${value === null ? 'n/a' : int((value * 1000) / Math.max(1, p.itemsApplied))}`).join(', ');
      lines.push(
        `${p.name}: ${int(p.itemsApplied)} items committed in ${p.requests} requests (${p.failedRequests} failed); on B ${int(p.received)} events, ${int(p.distinctSeqs)} distinct seqs, ${p.duplicates} duplicates, ${p.outOfOrder} out of order, ${p.missing} missing: ${p.exactlyOnce ? 'all, exactly once, in order' : 'NOT exactly once'}; delivered ${int(p.deliveredPerSecond)} events/s`,
        `  split at the relay's loggedAt: commit → logged p50 ${p.relayMs ? ms(p.relayMs.p50) : 'n/a'} / p99 ${p.relayMs ? ms(p.relayMs.p99) : 'n/a'} ms; logged → received on B p50 ${p.loggedToReceivedMs ? ms(p.loggedToReceivedMs.p50) : 'n/a'} / p99 ${p.loggedToReceivedMs ? ms(p.loggedToReceivedMs.p99) : 'n/a'} ms; mutation p99 ${ms(p.mutationMs.p99)} ms`,
        `  relay batches carrying them: ${p.relayBatches ? `${int(p.relayBatches.count)}, ${int(p.relayBatches.eventsP50)} events each at p50, ${int(p.relayBatches.eventsMax)} at most` : 'n/a'}; appends redone after a collision: ${int(p.relayCollisions)}`,
        `  goals p50 ≤ ${p.goal.p50Ms} ms: ${p.latencyMs ? verdict(p.goal.p50Met, p.latencyMs.p50, p.goal.p50Ms) : 'n/a'}; p99 ≤ ${p.goal.p99Ms} ms: ${p.latencyMs ? verdict(p.goal.p99Met, p.latencyMs.p99, p.goal.p99Ms) : 'n/a'}`,
        `  CPU µs per item: ${cpu}; other processes: ${other(p.cpu)}`,
        `  store commands per item: ${p.storeCommandsPerItem ? `gateway A ${formatStoreCommands(p.storeCommandsPerItem.a)}; gateway B ${formatStoreCommands(p.storeCommandsPerItem.b)}` : NOT_COUNTED}`,
      );
      if (p.firstError) lines.push(`  ! first failed request: ${p.firstError}`);
      if (p.reconnects > 0) lines.push(`  ! gateway B closed the subscriber's socket ${p.reconnects} time(s) (${r.closes[0] ?? '?'}); it resumed with since, as the client helper does`);
      if (p.missingDiagnosis) lines.push(`  ! after ${REPLICA_TAIL_LIMIT_MS / 1000} s: ${p.missingDiagnosis.loggedInventoryEvents} inventory events logged by the relay, ${p.missingDiagnosis.positionsWithPendingOutbox} positions still with outbox entries`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** One line, last on stdout, so `… | tail -n 1` is machine input. */
function formatJsonLine(report: ChangeFeedReport): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' ? round(value) : value));
}

function failed(report: ChangeFeedReport): boolean {
  const f = report.fanOut;
  const r = report.replica;
  return (f !== null && (f.grouped.incompleteChanges + f.naive.incompleteChanges > 0 || f.duplicates > 0 || f.errors.length > 0)) || (r !== null && r.passes.some((p) => !p.exactlyOnce));
}

if (process.argv[2] === '--agent') {
  await runAgent(Number(process.argv[3] ?? 600));
} else {
  process.exitCode = await runBenchProgram({
    parse: parseChangeFeedOptions,
    usage: USAGE,
    run: runBench,
    print: (report) => [formatChangeFeedReport(report), formatJsonLine(report)],
    failed,
    progress,
  });
}
