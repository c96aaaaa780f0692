/**
 * adjustInventory through the gateway against the raw MongoDB driver doing the same ledgered, exactly-once
 * writes, side by side in one run on one store (BENCHMARKS.md, "Inventory adjustments"). Only ratios mean
 * anything: the embedded store is a Java stand-in far slower than MongoDB, and both sides share its speed and
 * this machine's cores.
 *
 *   npx tsx bench/inventory.bench.ts [--quick] [--aged] [--decompose] [--only=single|batch] [--count-commands]
 */
import { isDeepStrictEqual } from 'node:util';
import { mongo } from 'mongoose';
import { encodeAppliedOp } from '../src/store/applied-op-codec.js';
import { runBenchProgram } from './lib/bench-main.js';
import { machineEnvironment, openBenchRun, progress } from './lib/bench-store.js';
import type { Cleanup } from './lib/cleanup.js';
import { CpuMeter, sumCpu, type CpuUse } from './lib/cpu-meter.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { checkLedger, checkSameShape, type LedgerSummary } from './lib/inventory-checks.js';
import { GatewayAdjuster } from './lib/inventory-gateway.js';
import { INVENTORY_USAGE, parseInventoryOptions, type InventoryBenchOptions, type InventoryPhase } from './lib/inventory-options.js';
import { RawChangeFeed, type RawChannel } from './lib/inventory-raw-feed.js';
import { RAW_FLOOR, RAW_GATEWAY_PATTERN, RAW_READ_CAS, RawInventory, RECENT_OPS_KEPT, type AdjustmentItem, type AppliedItem, type RawDesign } from './lib/inventory-raw.js';
import { formatInventoryJsonLine, formatInventoryReport, type InventoryPhaseResult, type InventoryReport, type InventorySide, type SideName } from './lib/inventory-report.js';
import { RawReads } from './lib/raw-reads.js';
import { shuffled } from './lib/stats.js';
import { commandsPerRequest, storeCommandCounts } from './lib/store-commands.js';
import { combine, rawThroughput, type ThroughputSample } from './lib/throughput.js';

/** Two demo locations (negative-stock policy REJECT, the default), so a sale is checked against stock on both sides. */
const LOCATIONS = ['DC-EU-1', 'DC-US-1'] as const;
/** Enough that no position runs out during a run: every timed item is a SALE of −1. */
const INITIAL_ON_HAND = 1_000_000;
const SETUP_BATCH = 500;
const PHASES: Readonly<Record<InventoryPhase, { readonly name: string; readonly itemsPerRequest: number }>> = {
  single: { name: 'adjustInventory, 1 item/request', itemsPerRequest: 1 },
  batch: { name: 'adjustInventory, 100 items/request', itemsPerRequest: 100 },
};
/** The demo key with inventory:write and no channel binding: it may write at every location. */
const API_KEY_NAME = 'demo-erp';

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);


/** One side of the comparison: how it adjusts, where it writes, and what its clients were told was applied. */
interface Side {
  readonly name: SideName;
  readonly label: string;
  readonly adjust: (key: string, items: readonly AdjustmentItem[]) => Promise<AppliedItem[] | null>;
  readonly collections: { readonly positions: mongo.Collection; readonly movements: mongo.Collection };
  /** Store commands so far: the gateway's /metrics, or the bench's own driver's command monitor. */
  readonly commandCounts: () => Promise<ReadonlyMap<string, number>>;
  /**
   * Resolves once the side's change feed has caught up with its writes (nothing pending in an outbox). Each
   * measured window lasts until then: the feed's work belongs to the side that caused it, not to the next side's
   * window (at full load the gateway's relay finishes 1–2 s after the last request of a 5 s window).
   */
  readonly settle: () => Promise<void>;
  /** Requests sent per phase: the idempotency key and the positions of request n follow from n. */
  readonly sent: Record<InventoryPhase, number>;
  /** Items answered as applied, over the whole run; the ledger must hold exactly these. */
  acknowledged: number;
  firstError: string | null;
}

interface Bench {
  readonly options: InventoryBenchOptions;
  readonly positions: readonly { readonly sku: string; readonly location: string }[];
  /** Gateway, the raw floor, the raw read + CAS floor, then the diagnostic side (--decompose). */
  readonly sides: readonly Side[];
  readonly meter: CpuMeter;
  readonly windows: Record<string, [number, number][]>;
}

async function runBench(options: InventoryBenchOptions, cleanup: Cleanup): Promise<InventoryReport> {
  // Command monitoring only with --count-commands, as in the gateway (MONGODB_COMMAND_METRICS): it counts the raw
  // sides' commands and costs them what it costs the gateway, so either every side pays it or none does.
  const rawCommands = new Map<string, number>();
  const { loadAtStart, store, dbName, dataDir, client } = await openBenchRun(cleanup, 'inv', { monitorCommands: options.countCommands }, (raw) =>
    raw.on('commandStarted', (event) => rawCommands.set(event.commandName, (rawCommands.get(event.commandName) ?? 0) + 1)),
  );
  const db = client.db(dbName);

  progress('starting the gateway and seeding the demo catalog (~10-20 s)');
  const gatewayProcess = await startGatewayProcess({ mongoUri: store.uri, dbName, dataDir, startTimeoutMs: 120_000, nodeArgs: options.gatewayNodeArgs, countCommands: options.countCommands });
  cleanup.add('stop the gateway', () => gatewayProcess.stop());
  const apiKey = gatewayProcess.keys.find((key) => key.name === API_KEY_NAME)?.key;
  if (!apiKey) throw new Error(`The gateway wrote no "${API_KEY_NAME}" key to demo-keys.json; got ${gatewayProcess.keys.map((key) => key.name).join(', ')}.`);
  const gatewayClient = new GatewayAdjuster(gatewayProcess.url, apiKey, options.concurrency);
  cleanup.add('close the GraphQL client', async () => gatewayClient.close());

  const skuCodes = await new RawReads(db).skuCodes();
  if (skuCodes.length < 1_000) throw new Error(`Expected the demo catalog (~2,250 SKUs) in ${dbName}, but found ${skuCodes.length} SKUs.`);
  // Request n writes the next positions in this order: concurrent batches touch disjoint positions.
  const positions = shuffled(skuCodes.flatMap((sku) => LOCATIONS.map((location) => ({ sku, location }))));
  const gatewayCollections = { positions: db.collection('inventory_positions'), movements: db.collection('inventory_movements'), idempotency: db.collection('idempotency_keys') };
  const driverCommands = async (): Promise<ReadonlyMap<string, number>> => new Map(rawCommands);
  const newSide = (name: SideName, label: string, adjust: Side['adjust'], collections: Side['collections'], commandCounts: Side['commandCounts'], settle: Side['settle'] = async () => undefined): Side =>
    ({ name, label, adjust, collections, commandCounts, settle, sent: { single: 0, batch: 0 }, acknowledged: 0, firstError: null });
  const gatewayOutboxes = [gatewayCollections.positions, db.collection('channel_availability')];
  const gateway = newSide('gateway', 'gateway', (key, items) => gatewayClient.adjust(key, items), gatewayCollections, () => storeCommandCounts(gatewayProcess.url), () => outboxesDrained(gatewayOutboxes));
  const rawDesigns: [SideName, string, RawDesign, string][] = [
    ['raw', 'raw driver', RAW_FLOOR, 'bench'],
    ['rawCas', 'raw driver, read + CAS', RAW_READ_CAS, 'bench_cas'],
    ...(options.decompose ? ([['pattern', "raw driver, gateway's commands", RAW_GATEWAY_PATTERN, 'bench_gw']] as [SideName, string, RawDesign, string][]) : []),
  ];
  const channels = await activeChannels(db);
  const rawSides = rawDesigns.map(([name, label, design, prefix]) => {
    const inventory = new RawInventory(db, { positions: `${prefix}_positions`, movements: `${prefix}_movements`, idempotency: `${prefix}_idempotency` }, design);
    if (design.changeFeed) inventory.feed = new RawChangeFeed(db, prefix, inventory.positions as unknown as ConstructorParameters<typeof RawChangeFeed>[2], inventory.movements, channels);
    const collections = { positions: inventory.positions as unknown as mongo.Collection, movements: inventory.movements as unknown as mongo.Collection };
    const feed = inventory.feed;
    return { inventory, design, side: newSide(name, label, (key, items) => inventory.adjust(key, items), collections, driverCommands, feed ? () => feed.settled() : undefined) };
  });

  progress(`creating ${positions.length} positions with ${INITIAL_ON_HAND.toLocaleString('en-US')} on hand on each side`);
  for (let start = 0; start < positions.length; start += SETUP_BATCH) {
    const items = positions.slice(start, start + SETUP_BATCH).map((p) => ({ ...p, delta: INITIAL_ON_HAND, reason: 'RECEIPT' as const, referenceDocument: 'BENCH-SETUP' }));
    if (!(await gatewayClient.adjust(`bench-setup-${start}`, items))) throw new Error(`The gateway did not apply the setup receipts ${start}..${start + items.length - 1}.`);
  }
  for (const { inventory } of rawSides) {
    await inventory.copyIndexes(gatewayCollections);
    await inventory.createPositions(positions, INITIAL_ON_HAND, 'bench-setup');
    await inventory.feed?.copyIndexes({ log: db.collection('change_log'), availability: db.collection('channel_availability') });
    await inventory.feed?.seedAvailability(skuCodes, LOCATIONS, INITIAL_ON_HAND);
  }
  if (options.agedPositions) {
    await agePositions([
      { collection: gatewayCollections.positions, withQuantities: true },
      ...rawSides.map(({ side, design }) => ({ collection: side.collections.positions, withQuantities: design.positionWrite === 'readCas' })),
    ]);
  }

  const sides = [gateway, ...rawSides.map(({ side }) => side)];
  await checkSameWork(gatewayClient, sides, rawSides.filter(({ design }) => !design.gatewayExtras), positions);
  for (const { side } of rawSides) await checkSameShape(gateway.collections, side.collections);

  const bench: Bench = { options, positions, sides, meter: new CpuMeter(gatewayProcess.pid, store.pid), windows: {} };
  const phases: InventoryPhaseResult[] = [];
  for (const phase of options.phases) phases.push(await measurePhase(bench, phase));

  progress('checking every ledger against its positions');
  const keys = positions.map((p) => `${p.sku}:${p.location}`);
  const correctness: Partial<Record<SideName, LedgerSummary>> = {};
  for (const side of sides) {
    const summary = await checkLedger(side.label, side.collections.positions, side.collections.movements, keys, INITIAL_ON_HAND);
    if (summary.appliedItems !== side.acknowledged) {
      const why = side.firstError ? ` (a request failed: ${side.firstError})` : '';
      throw new Error(`${side.label}: the ledger holds ${summary.appliedItems} applied items, but clients were told ${side.acknowledged} were applied${why}.`);
    }
    correctness[side.name] = summary;
  }
  for (const { inventory, side } of rawSides) {
    const feed = inventory.feed;
    if (!feed) continue;
    await feed.settled();
    const logged = await feed.log.countDocuments({ entity: 'InventoryPosition' });
    const pending = await side.collections.positions.countDocuments({ outboxAt: { $exists: true } });
    if (logged !== correctness[side.name]!.appliedItems || pending > 0) throw new Error(`${side.label}: ${logged} position events logged and ${pending} outboxes pending for ${correctness[side.name]!.appliedItems} applied items.`);
  }

  return {
    environment: {
      ...machineEnvironment(store, loadAtStart),
      skuCount: skuCodes.length,
      positions: positions.length,
      locations: LOCATIONS,
    },
    settings: {
      quick: options.quick,
      concurrency: options.concurrency,
      warmupSeconds: options.warmupSeconds,
      rounds: options.rounds,
      roundSeconds: options.roundSeconds,
      phases: options.phases.join(','),
      agedPositions: options.agedPositions,
      decompose: options.decompose,
      countCommands: options.countCommands,
      apiKey: API_KEY_NAME,
    },
    phases,
    correctness: correctness as InventoryReport['correctness'],
    gatewayWindowsUs: bench.windows,
  };
}

/**
 * Polls until no document of `collections` has a pending outbox entry. Each poll reads the `outboxAt` index,
 * which the embedded store answers with a scan (it stops at the first pending document; a few ms when there is
 * none), so polls are 50 ms apart: the error on a window of ~5 s is at most 1%.
 */
async function outboxesDrained(collections: readonly mongo.Collection[]): Promise<void> {
  for (const collection of collections) {
    while (await collection.findOne({ outboxAt: { $exists: true } }, { projection: { _id: 1 } })) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The channels the gateway derives available-to-sell for (every one not archived), as its deriver reads them. */
async function activeChannels(db: mongo.Db): Promise<RawChannel[]> {
  const documents = await db.collection<{ _id: string; locationCodes?: string[]; inventoryBuffer?: number }>('channels').find({ archivedAt: null }).toArray();
  return documents.map((document) => ({ code: document._id, locationCodes: document.locationCodes ?? [], inventoryBuffer: document.inventoryBuffer ?? 0 }));
}

/**
 * A busy position in production remembers its last 100 operations (the gateway's dedup list); a fresh one
 * holds 1. Both sides get 99 more (ids that no request uses), in each side's own shape, before timing.
 */
async function agePositions(targets: readonly { readonly collection: mongo.Collection; readonly withQuantities: boolean }[]): Promise<void> {
  type WithOps = { recentOps: (object | string)[] };
  progress(`ageing every position to ${RECENT_OPS_KEPT} remembered operations`);
  const at = new Date();
  const ids = Array.from({ length: RECENT_OPS_KEPT - 1 }, (_, i) => `bench-aged:${i}`);
  // The floor remembers smaller operations as objects (no before/after: see inventory-raw.ts); the gateway and
  // read + CAS store each as a string (applied-op-codec.ts).
  for (const { collection, withQuantities } of targets) {
    const ops = ids.map((id) => (withQuantities ? encodeAppliedOp({ id, delta: -1, onHandBefore: 1, onHandAfter: 0, flags: [], at }) : { id, delta: -1, flags: [], at }));
    await (collection as unknown as mongo.Collection<WithOps>).updateMany({}, { $push: { recentOps: { $each: ops } } });
  }
}

const sale = (position: { sku: string; location: string }, referenceDocument: string): AdjustmentItem => ({ ...position, delta: -1, reason: 'SALE', referenceDocument });

/**
 * Before timing: the same requests give the same answers on every side; and on the gateway and the floors, a
 * repeated request applies nothing again and a sale larger than the stock is refused, without a ledger write.
 */
async function checkSameWork(
  gatewayClient: GatewayAdjuster,
  sides: readonly Side[],
  floors: readonly { readonly inventory: RawInventory; readonly side: Side }[],
  positions: readonly { sku: string; location: string }[],
): Promise<void> {
  const requests = [
    { key: 'bench-check-single', items: [sale(positions[0]!, 'BENCH-CHECK')] },
    { key: 'bench-check-batch', items: positions.slice(1, 4).map((p) => sale(p, 'BENCH-CHECK')) },
  ];
  for (const { key, items } of requests) {
    const expected = items.map(() => ({ onHandBefore: INITIAL_ON_HAND, onHandAfter: INITIAL_ON_HAND - 1 }));
    for (const side of sides) {
      const answer = await side.adjust(key, items);
      if (!isDeepStrictEqual(answer, expected)) throw new Error(`The ${side.label} answered request ${key} with ${JSON.stringify(answer)}; expected ${JSON.stringify(expected)}.`);
      side.acknowledged += items.length;
    }
  }
  const checked = [sides[0]!, ...floors.map(({ side }) => side)];
  const ledgerSizes = (): Promise<number[]> => Promise.all(checked.map((side) => side.collections.movements.countDocuments({})));
  const before = await ledgerSizes();
  const replay = await gatewayClient.adjustRaw(requests[1]!.key, requests[1]!.items);
  if (!('replayed' in replay) || !replay.replayed) throw new Error(`The gateway did not replay a repeated request: ${JSON.stringify(replay)}`);
  const tooMuch = [{ ...sale(positions[0]!, 'BENCH-CHECK'), delta: -2 * INITIAL_ON_HAND }];
  const refused = await gatewayClient.adjustRaw('bench-check-refused', tooMuch);
  if (!('items' in refused) || refused.items[0]?.outcome !== 'REJECTED') throw new Error(`The gateway applied a sale larger than the stock: ${JSON.stringify(refused)}`);
  for (const { inventory, side } of floors) {
    if ((await inventory.adjust(requests[1]!.key, requests[1]!.items)) !== null) throw new Error(`The ${side.label} applied a repeated operation a second time.`);
    if ((await inventory.adjust('bench-check-refused', tooMuch)) !== null) throw new Error(`The ${side.label} applied a sale larger than the stock.`);
  }
  const after = await ledgerSizes();
  if (!isDeepStrictEqual(before, after)) throw new Error(`A repeated or refused request wrote to a ledger: movements before ${before.join('/')}, after ${after.join('/')}.`);
}

/**
 * Warm-up on every side, then rounds of equal length, summed per side. The order of the sides reverses every
 * round (ABC, CBA, …), so drift (JIT, GC, a neighbour's load) hits them alike.
 */
async function measurePhase(bench: Bench, phase: InventoryPhase): Promise<InventoryPhaseResult> {
  const { options, meter, positions } = bench;
  const { name, itemsPerRequest } = PHASES[phase];
  const load = (side: Side) => async (): Promise<unknown> => {
    const n = side.sent[phase]++;
    const key = `bench-${phase}-${n}`;
    const items = Array.from({ length: itemsPerRequest }, (_, j) => sale(positions[(n * itemsPerRequest + j) % positions.length]!, `BENCH-${phase}-${n}`));
    try {
      const applied = await side.adjust(key, items);
      if (applied) side.acknowledged += itemsPerRequest;
      else side.firstError ??= `request ${key} was not applied in full`;
      return applied;
    } catch (error) {
      side.firstError ??= error instanceof Error ? error.message : String(error);
      throw error;
    }
  };

  progress(`${name}: warming up (${options.warmupSeconds} s each side)`);
  for (const side of bench.sides) {
    await rawThroughput(options.concurrency, options.warmupSeconds, load(side));
    await side.settle();
  }

  const measured = new Map(bench.sides.map((side) => [side.name, { samples: [] as ThroughputSample[], cpu: [] as CpuUse[], commands: new Map<string, number>() }]));
  const windows = (bench.windows[phase] = [] as [number, number][]);
  const measure = async (side: Side): Promise<void> => {
    const record = measured.get(side.name)!;
    const before = options.countCommands ? await side.commandCounts() : null;
    const begun = monotonicUs();
    const { result, cpu } = await meter.measure(async () => {
      const sample = await rawThroughput(options.concurrency, options.roundSeconds, load(side));
      const settling = performance.now();
      await side.settle();
      return { ...sample, seconds: sample.seconds + (performance.now() - settling) / 1_000 };
    });
    if (side.name === 'gateway') windows.push([begun, monotonicUs()]);
    if (before) {
      for (const [command, count] of await side.commandCounts()) record.commands.set(command, (record.commands.get(command) ?? 0) + count - (before.get(command) ?? 0));
    }
    record.samples.push(result);
    record.cpu.push(cpu);
  };
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? bench.sides : [...bench.sides].reverse();
    progress(`${name}: round ${round}/${options.rounds}, ${options.roundSeconds} s each side, ${order.map((side) => side.label).join(', then ')}`);
    for (const side of order) await measure(side);
  }

  const result = (side: Side): InventorySide => {
    const record = measured.get(side.name)!;
    const total = combine(record.samples);
    return {
      ...total,
      itemsPerSecond: total.perSecond * itemsPerRequest,
      cpu: sumCpu(record.cpu),
      storeCommands: options.countCommands ? commandsPerRequest(new Map(), record.commands, total.completed) : null,
      firstError: side.firstError,
    };
  };
  const bySide = Object.fromEntries(bench.sides.map((side) => [side.name, result(side)])) as Partial<Record<SideName, InventorySide>>;
  const gateway = bySide.gateway!;
  const raw = bySide.raw!;
  const rawCas = bySide.rawCas!;
  return { phase, name, itemsPerRequest, gateway, raw, rawCas, pattern: bySide.pattern ?? null, ratio: gateway.itemsPerSecond / raw.itemsPerSecond, ratioReadCas: gateway.itemsPerSecond / rawCas.itemsPerSecond };
}

process.exitCode = await runBenchProgram({
  parse: parseInventoryOptions,
  usage: INVENTORY_USAGE,
  run: runBench,
  print: (report) => [formatInventoryReport(report), formatInventoryJsonLine(report)],
  failed: (report) => report.phases.some((p) => [p.gateway, p.raw, p.rawCas, p.pattern].some((side) => (side?.failed ?? 0) > 0)),
  progress,
});
