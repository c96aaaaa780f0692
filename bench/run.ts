/**
 * Gateway overhead over the raw MongoDB driver, measured side by side in one run on one store (see
 * BENCHMARKS.md). Only ratios mean anything here: the embedded store is a Java stand-in far slower than
 * MongoDB, and both sides share its speed and this machine's cores.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Cleanup } from './lib/cleanup.js';
import { runBenchProgram } from './lib/bench-main.js';
import { machineEnvironment, openBenchRun, progress } from './lib/bench-store.js';
import { CpuMeter, sumCpu, type CpuUse } from './lib/cpu-meter.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { GraphqlClient, PAGE_QUERY, PAGE_SIZE, SKU_SCALARS_QUERY, SKU_WITH_RELATIONS_QUERY, skuBodies } from './lib/graphql-client.js';
import { parseOptions, USAGE, type BenchOptions } from './lib/options.js';
import { RawReads, type PageNode } from './lib/raw-reads.js';
import { formatJsonLine, formatReport, type BenchReport, type LatencyResult, type ThroughputResult } from './lib/report.js';
import { shuffled, summarize } from './lib/stats.js';
import { commandsPerRequest, storeCommandCounts } from './lib/store-commands.js';
import { combine, gatewayThroughput, rawThroughput, type ThroughputSample } from './lib/throughput.js';

/** Codes compared answer for answer before timing: a fast wrong answer must not count as a lookup. */
const CHECKED_CODES = 25;
/** An unbound read key: sees every channel's mappings, as the raw reads do. */
const API_KEY_NAME = 'demo-analyst';



async function runBench(options: BenchOptions, cleanup: Cleanup): Promise<BenchReport> {
  const { loadAtStart, store, dbName, dataDir, client } = await openBenchRun(cleanup, '');
  const raw = new RawReads(client.db(dbName));

  progress('starting the gateway and seeding the demo catalog (~10-20 s)');
  const gateway = await startGatewayProcess({ mongoUri: store.uri, dbName, dataDir, startTimeoutMs: 120_000, nodeArgs: options.gatewayNodeArgs, countCommands: options.countCommands });
  cleanup.add('stop the gateway', () => gateway.stop());
  const apiKey = gateway.keys.find((key) => key.name === API_KEY_NAME)?.key;
  if (!apiKey) throw new Error(`The gateway wrote no "${API_KEY_NAME}" key to demo-keys.json; got ${gateway.keys.map((key) => key.name).join(', ')}.`);

  const codes = shuffled(await raw.skuCodes());
  if (codes.length < CHECKED_CODES) throw new Error(`Expected the demo catalog (~2,400 SKUs) in ${dbName}, but found ${codes.length} SKUs.`);
  const graphql = new GraphqlClient(gateway.url, apiKey);
  cleanup.add('close the GraphQL client', async () => graphql.close());
  await checkSameAnswers(graphql, raw, codes.slice(0, CHECKED_CODES));

  const bench: ThroughputBench = { options, gatewayUrl: gateway.url, apiKey, codes, meter: new CpuMeter(gateway.pid, store.pid) };
  const throughput = [
    await measureThroughput(bench, { name: 'sku(code) scalars', query: SKU_SCALARS_QUERY, read: (code) => raw.skuScalars(code), rawFinds: 1 }),
    await measureThroughput(bench, { name: 'sku(code) + product + mappings', query: SKU_WITH_RELATIONS_QUERY, read: (code) => raw.skuWithRelations(code), rawFinds: 3 }),
  ];

  progress(`skus(first: ${PAGE_SIZE}): ${options.latencyWarmup} warm-up pairs, then up to ${options.latencySamples} sequential pairs`);
  const latency = [await pageLatency(options, graphql, raw)];

  return {
    environment: {
      ...machineEnvironment(store, loadAtStart),
      skuCount: codes.length,
    },
    settings: {
      quick: options.quick,
      concurrency: options.concurrency,
      warmupSeconds: options.warmupSeconds,
      rounds: options.rounds,
      roundSeconds: options.roundSeconds,
      latencySamples: options.latencySamples,
      countCommands: options.countCommands,
      apiKey: API_KEY_NAME,
    },
    throughput,
    latency,
  };
}

interface ThroughputBench {
  readonly options: BenchOptions;
  readonly gatewayUrl: string;
  readonly apiKey: string;
  readonly codes: readonly string[];
  readonly meter: CpuMeter;
}

interface LookupScenario {
  readonly name: string;
  readonly query: string;
  /** The raw driver's equivalent of one GraphQL request; null means not found, which counts as a failure. */
  readonly read: (code: string) => Promise<unknown>;
  /** Store commands the raw read sends, printed next to the gateway's measured count. */
  readonly rawFinds: number;
}

/** Warm-up on both sides, then ABBA rounds of equal length, summed per side. */
async function measureThroughput(bench: ThroughputBench, scenario: LookupScenario): Promise<ThroughputResult> {
  const { options, codes, meter } = bench;
  const load = {
    url: bench.gatewayUrl,
    apiKey: bench.apiKey,
    connections: options.concurrency,
    bodies: skuBodies(scenario.query, codes),
    verify: (body: string) => body.startsWith('{"data":{"sku":{"code":'),
  };
  const rawRead = (index: number) => scenario.read(codes[index % codes.length]!);
  progress(`${scenario.name}: warming up (${options.warmupSeconds} s each side)`);
  await gatewayThroughput(load, options.warmupSeconds);
  await rawThroughput(options.concurrency, options.warmupSeconds, rawRead);

  const gatewaySamples: ThroughputSample[] = [];
  const rawSamples: ThroughputSample[] = [];
  const gatewayCpu: CpuUse[] = [];
  const rawCpu: CpuUse[] = [];
  const commandsSent = new Map<string, number>();
  const measureGateway = async (): Promise<void> => {
    const before = options.countCommands ? await storeCommandCounts(bench.gatewayUrl) : null;
    const { result, cpu } = await meter.measure(() => gatewayThroughput(load, options.roundSeconds));
    if (before) {
      for (const [command, count] of await storeCommandCounts(bench.gatewayUrl)) {
        commandsSent.set(command, (commandsSent.get(command) ?? 0) + count - (before.get(command) ?? 0));
      }
    }
    gatewaySamples.push(result);
    gatewayCpu.push(cpu);
  };
  const measureRaw = async (): Promise<void> => {
    const { result, cpu } = await meter.measure(() => rawThroughput(options.concurrency, options.roundSeconds, rawRead));
    rawSamples.push(result);
    rawCpu.push(cpu);
  };
  for (let round = 1; round <= options.rounds; round++) {
    const gatewayFirst = round % 2 === 1;
    progress(`${scenario.name}: round ${round}/${options.rounds}, ${options.roundSeconds} s each side, ${gatewayFirst ? 'gateway' : 'raw driver'} first`);
    for (const measure of gatewayFirst ? [measureGateway, measureRaw] : [measureRaw, measureGateway]) await measure();
  }

  const gateway = combine(gatewaySamples);
  const rawTotal = combine(rawSamples);
  return {
    name: scenario.name,
    gateway: { ...gateway, cpu: sumCpu(gatewayCpu), storeCommands: options.countCommands ? commandsPerRequest(new Map(), commandsSent, gateway.completed) : null },
    // Known by construction, but printed only next to a counted gateway figure: alone it compares with nothing.
    raw: { ...rawTotal, cpu: sumCpu(rawCpu), storeCommands: options.countCommands ? { find: scenario.rawFinds } : null },
    ratio: gateway.perSecond / rawTotal.perSecond,
  };
}

/** Both sides must return the same data, or the ratio compares different work. */
async function checkSameAnswers(client: GraphqlClient, raw: RawReads, codes: readonly string[]): Promise<void> {
  for (const code of codes) {
    const checks = [
      { query: SKU_SCALARS_QUERY, expected: await raw.skuScalars(code) },
      { query: SKU_WITH_RELATIONS_QUERY, expected: await raw.skuWithRelations(code) },
    ];
    for (const { query, expected } of checks) {
      const { sku } = await client.post<{ sku: unknown }>(skuBodies(query, [code])[0]!);
      if (!isDeepStrictEqual(sku, expected)) {
        throw new Error(`Gateway and raw driver disagree on SKU "${code}":\n  gateway: ${JSON.stringify(sku)}\n  raw:     ${JSON.stringify(expected)}`);
      }
    }
  }
  const page = (await client.post<{ skus: { nodes: PageNode[] } }>(pageBody())).skus.nodes;
  const rawPage = await raw.firstPage(PAGE_SIZE);
  if (page.length !== PAGE_SIZE || !isDeepStrictEqual(page, rawPage)) {
    throw new Error(`Gateway and raw driver disagree on the first ${PAGE_SIZE} SKUs (gateway ${page.length} nodes, raw ${rawPage.length}).`);
  }
}

const pageBody = (): Buffer => Buffer.from(JSON.stringify({ query: PAGE_QUERY }));

/**
 * Sequential pairs, one gateway request and one raw read sequence each, alternating which goes first so
 * neither side always runs on a store the other just warmed.
 */
async function pageLatency(options: BenchOptions, client: GraphqlClient, raw: RawReads): Promise<LatencyResult> {
  const body = pageBody();
  const timeGateway = async (): Promise<number> => {
    const begun = performance.now();
    await client.post(body);
    return performance.now() - begun;
  };
  const timeRaw = async (): Promise<number> => {
    const begun = performance.now();
    await raw.firstPage(PAGE_SIZE);
    return performance.now() - begun;
  };
  for (let i = 0; i < options.latencyWarmup; i++) {
    await timeGateway();
    await timeRaw();
  }
  const gatewayMs: number[] = [];
  const rawMs: number[] = [];
  const deadline = performance.now() + options.latencyMaxSeconds * 1000;
  for (let i = 0; i < options.latencySamples && performance.now() < deadline; i++) {
    if (i % 2 === 0) {
      gatewayMs.push(await timeGateway());
      rawMs.push(await timeRaw());
    } else {
      rawMs.push(await timeRaw());
      gatewayMs.push(await timeGateway());
    }
  }
  const gateway = summarize(gatewayMs);
  const rawSummary = summarize(rawMs);
  return {
    name: `skus(first: ${PAGE_SIZE}) { nodes { code title product { code title } mappings { channelCode externalVariantId } } }`,
    gateway,
    raw: rawSummary,
    ratio: {
      p50: gateway.p50 / rawSummary.p50,
      p95: gateway.p95 / rawSummary.p95,
      p99: gateway.p99 / rawSummary.p99,
      mean: gateway.mean / rawSummary.mean,
    },
    stoppedEarly: gatewayMs.length < options.latencySamples,
  };
}

process.exitCode = await runBenchProgram({
  parse: parseOptions,
  usage: USAGE,
  run: runBench,
  print: (report) => [formatReport(report), formatJsonLine(report)],
  progress,
});
