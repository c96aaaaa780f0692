import type { CpuUse } from './cpu-meter.js';
import type { LatencySummary } from './stats.js';
import { formatStoreCommands, NOT_COUNTED, type StoreCommands } from './store-commands.js';
import type { ThroughputSample } from './throughput.js';

export interface Environment {
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  /** 1-minute load average before the bench started anything: above ~0.5 something else competes for the cores. */
  readonly loadAverageAtStart: number;
  readonly store: string;
  readonly skuCount: number;
}

export type ThroughputSide = ThroughputSample & {
  readonly perSecond: number;
  readonly cpu: CpuUse;
  /**
   * Store commands per request by name: counted by the gateway's metrics, by construction on the raw side; null
   * when the run did not count them.
   */
  readonly storeCommands: StoreCommands;
};

export interface ThroughputResult {
  readonly name: string;
  readonly gateway: ThroughputSide;
  readonly raw: ThroughputSide;
  /** gateway/raw requests per second: 1.0 would be no overhead, lower is worse. */
  readonly ratio: number;
}

export interface LatencyResult {
  readonly name: string;
  readonly gateway: LatencySummary;
  readonly raw: LatencySummary;
  /** gateway/raw per percentile: 1.0 would be no overhead, higher is worse. */
  readonly ratio: { readonly p50: number; readonly p95: number; readonly p99: number; readonly mean: number };
  readonly stoppedEarly: boolean;
}

export interface BenchReport {
  readonly environment: Environment;
  readonly settings: Record<string, unknown>;
  readonly throughput: readonly ThroughputResult[];
  readonly latency: readonly LatencyResult[];
}

const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string => value.toFixed(Math.abs(value) < 10 ? 2 : 1);
const ratio = (value: number): string => value.toFixed(2);
const row = (cells: readonly string[], widths: readonly number[]): string =>
  cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');

export function formatReport(report: BenchReport): string {
  return [...header(report), ...throughputTable(report), ...commandsTable(report), ...cpuTable(report), ...report.latency.flatMap(latencyTable), ''].join('\n');
}

function header({ environment: env, settings }: BenchReport): string[] {
  return [
    '',
    'retail-sync-gateway bench: gateway vs raw MongoDB driver, same store, same run',
    `node ${env.node} on ${env.platform}, ${env.cpus} × ${env.cpuModel}, ${env.memoryGb} GB, load average ${env.loadAverageAtStart.toFixed(2)} at start`,
    `store: ${env.store}; ${int(env.skuCount)} SKUs`,
    `settings: ${Object.entries(settings).map(([key, value]) => `${key}=${String(value)}`).join(' ')}`,
  ];
}

function throughputTable(report: BenchReport): string[] {
  const widths = [34, 11, 11, 11, 11, 12];
  const lines = [
    '',
    `Throughput: closed loop, ${String(report.settings['concurrency'])} in flight, rotating over every SKU code (higher is better)`,
    row(['', 'gateway/s', 'raw/s', 'gateway p50', 'raw p50', 'gateway/raw'], widths),
  ];
  for (const t of report.throughput) {
    lines.push(row([t.name, int(t.gateway.perSecond), int(t.raw.perSecond), `${ms(t.gateway.latencyP50Ms)} ms`, `${ms(t.raw.latencyP50Ms)} ms`, ratio(t.ratio)], widths));
    if (t.gateway.failed + t.raw.failed > 0) lines.push(`  ! failed requests: gateway ${t.gateway.failed}, raw ${t.raw.failed}`);
  }
  return lines;
}

function commandsTable(report: BenchReport): string[] {
  if (report.throughput.every((t) => t.gateway.storeCommands === null)) return ['', `Store commands per request: ${NOT_COUNTED}`];
  return [
    '',
    'Store commands per request',
    ...report.throughput.map((t) => `${t.name.padEnd(34)}  gateway: ${formatStoreCommands(t.gateway.storeCommands)}; raw: ${formatStoreCommands(t.raw.storeCommands)}`),
  ];
}

/** Cores busy with other work above which a phase's figures are flagged as shared-machine figures. */
const BUSY_NEIGHBOUR_CORES = 0.3;

function cpuTable(report: BenchReport): string[] {
  const widths = [34, 9, 11, 9, 8, 9, 9, 8];
  const span = (from: number, to: number): number => widths.slice(from, to).reduce((sum, width) => sum + width + 2, -2);
  const perRequest = (cpuMs: number | null, side: ThroughputSide): string => (cpuMs === null ? 'n/a' : int((cpuMs * 1000) / Math.max(1, side.completed)));
  const otherCores = (side: ThroughputSide): string => (side.cpu.otherMs === null ? 'n/a' : (side.cpu.otherMs / side.cpu.wallMs).toFixed(2));
  const busiest = Math.max(...report.throughput.flatMap(({ gateway, raw }) => [gateway, raw].map((side) => (side.cpu.otherMs ?? 0) / side.cpu.wallMs)));
  const warning = busiest >= BUSY_NEIGHBOUR_CORES ? [`  ! other processes kept up to ${busiest.toFixed(2)} cores busy during the phases: expect noisier figures`] : [];
  return [
    '',
    'CPU time per request in the same phases, µs, by process (where the time goes). "other": cores kept busy on',
    `average by processes the bench did not start; from ~${BUSY_NEIGHBOUR_CORES} the phase shared the machine with something else.`,
    `${''.padEnd(widths[0]!)}  ${'via the gateway'.padStart(span(1, 5))}  ${'raw driver'.padStart(span(5, 8))}`,
    row(['', 'gateway', 'autocannon', 'store', 'other', 'driver', 'store', 'other'], widths),
    ...report.throughput.map(({ name, gateway, raw }) =>
      row([name, perRequest(gateway.cpu.gatewayMs, gateway), perRequest(gateway.cpu.benchMs, gateway), perRequest(gateway.cpu.storeMs, gateway), otherCores(gateway), perRequest(raw.cpu.benchMs, raw), perRequest(raw.cpu.storeMs, raw), otherCores(raw)], widths),
    ),
    ...warning,
  ];
}

function latencyTable(l: LatencyResult): string[] {
  const widths = [20, 9, 9, 9, 9];
  const lines = [
    '',
    `Latency: ${l.name}`,
    `${l.gateway.samples} sequential samples each, interleaved (lower is better)`,
    row(['', 'p50 ms', 'p95 ms', 'p99 ms', 'mean ms'], widths),
    row(['gateway', ms(l.gateway.p50), ms(l.gateway.p95), ms(l.gateway.p99), ms(l.gateway.mean)], widths),
    row(['raw driver', ms(l.raw.p50), ms(l.raw.p95), ms(l.raw.p99), ms(l.raw.mean)], widths),
    row(['gateway/raw', ratio(l.ratio.p50), ratio(l.ratio.p95), ratio(l.ratio.p99), ratio(l.ratio.mean)], widths),
    // The ratio shrinks as the store gets slower; the difference is what the gateway itself adds.
    row(['gateway - raw, ms', ms(l.gateway.p50 - l.raw.p50), ms(l.gateway.p95 - l.raw.p95), ms(l.gateway.p99 - l.raw.p99), ms(l.gateway.mean - l.raw.mean)], widths),
  ];
  if (l.stoppedEarly) lines.push("  ! stopped early at the phase's time limit: fewer samples than asked for");
  return lines;
}

/** One line, last on stdout, so `npx tsx bench/run.ts | tail -n 1` is machine input. */
export function formatJsonLine(report: BenchReport): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' ? round(value) : value));
}
