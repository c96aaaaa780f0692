import type { CpuUse } from './cpu-meter.js';
import type { LedgerSummary } from './inventory-checks.js';
import type { InventoryPhase } from './inventory-options.js';
import type { Environment } from './report.js';
import { formatStoreCommands, NOT_COUNTED, type StoreCommands } from './store-commands.js';
import type { ThroughputSample } from './throughput.js';

export type InventorySide = ThroughputSample & {
  readonly perSecond: number;
  readonly itemsPerSecond: number;
  readonly cpu: CpuUse;
  /**
   * Store commands per request by name: the gateway's own /metrics counter, the raw client's command monitor;
   * null when the run did not count them.
   */
  readonly storeCommands: StoreCommands;
  /** The first failure's message, when a request failed. */
  readonly firstError: string | null;
};

/**
 * gateway; raw: the floor; rawCas: the floor with the gateway's read + compare-and-set; with --decompose,
 * pattern: every store command the gateway sends, from the bare driver (inventory-raw.ts).
 */
export type SideName = 'gateway' | 'raw' | 'rawCas' | 'pattern';
const OTHER_RAW_SIDES = [
  ['rawCas', 'read + CAS'],
  ['pattern', "gateway's commands"],
] as const;
const LABELS: Readonly<Record<SideName, string>> = { gateway: 'gateway', raw: 'floor', rawCas: 'read + CAS', pattern: "gateway's commands" };

export interface InventoryPhaseResult {
  readonly phase: InventoryPhase;
  readonly name: string;
  readonly itemsPerRequest: number;
  readonly gateway: InventorySide;
  readonly raw: InventorySide;
  readonly rawCas: InventorySide;
  readonly pattern: InventorySide | null;
  /** gateway/raw items per second: 1.0 would be no overhead; the goal (issue 4) is ≥ 0.7. */
  readonly ratio: number;
  /** gateway/rawCas items per second: against the floor that the embedded store serves from an index. */
  readonly ratioReadCas: number;
}

export interface InventoryReport {
  readonly environment: Environment & { readonly positions: number; readonly locations: readonly string[] };
  readonly settings: Record<string, unknown>;
  readonly phases: readonly InventoryPhaseResult[];
  readonly correctness: Readonly<Partial<Record<SideName, LedgerSummary>>>;
  /**
   * When each measured gateway round ran, in microseconds of the monotonic clock (process.hrtime), which is
   * also the clock of a V8 CPU profile's timestamps: cut a `--cpu-prof` profile of the gateway to these.
   */
  readonly gatewayWindowsUs: Readonly<Record<string, readonly (readonly [number, number])[]>>;
}

const GOAL = 0.7;
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number): string => value.toFixed(Math.abs(value) < 10 ? 2 : 1);
const row = (cells: readonly string[], widths: readonly number[]): string =>
  cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');

export function formatInventoryReport(report: InventoryReport): string {
  const { environment: env, settings } = report;
  const lines = [
    '',
    'retail-sync-gateway inventory bench: adjustInventory through the gateway vs the raw driver, same store, same run',
    `node ${env.node} on ${env.platform}, ${env.cpus} × ${env.cpuModel}, ${env.memoryGb} GB, load average ${env.loadAverageAtStart.toFixed(2)} at start`,
    `store: ${env.store}; ${int(env.positions)} positions per side (${int(env.skuCount)} SKUs × ${env.locations.join(', ')})`,
    `settings: ${Object.entries(settings).map(([key, value]) => `${key}=${String(value)}`).join(' ')}`,
    '',
    `Throughput: closed loop, ${String(settings['concurrency'])} requests in flight on each side, SALE −1 per item (higher is better; goal ≥ ${GOAL})`,
    'A window lasts until its side\'s change feed has caught up (no outbox entry pending): the time counts.',
  ];
  const widths = [46, 10, 10, 12, 11, 12];
  lines.push(row(['', 'gateway/s', 'floor/s', 'gateway p50', 'floor p50', 'gateway/floor'], widths));
  for (const p of report.phases) {
    const unit = p.itemsPerRequest === 1 ? 'adjustments' : 'items';
    lines.push(row([`${p.name} (${unit})`, int(p.gateway.itemsPerSecond), int(p.raw.itemsPerSecond), `${ms(p.gateway.latencyP50Ms)} ms`, `${ms(p.raw.latencyP50Ms)} ms`, p.ratio.toFixed(2)], widths));
    const sides = [['gateway', p.gateway], ['raw', p.raw], ['rawCas', p.rawCas], ['pattern', p.pattern]] as const;
    const failed = sides.filter(([, side]) => (side?.failed ?? 0) > 0);
    if (failed.length > 0) {
      const first = sides.map(([, side]) => side?.firstError).find((error) => error) ?? 'not applied';
      lines.push(`  ! failed requests: ${failed.map(([name, side]) => `${name} ${side!.failed}`).join(', ')}; first: ${first}`);
    }
  }
  const w = [46, 10, 12, 12];
  const embedded = env.store !== 'MONGODB_URI';
  lines.push(
    '',
    'The same against "read + CAS": read the positions, then compare-and-set on { _id, version }, as the gateway',
    ...(embedded
      ? [
          "writes them. On this store the floor's conditional findAndModify scans every position (filters on _id plus",
          'conditions are not served by an index), read + CAS is served by the { _id, version } index (BENCHMARKS.md).',
        ]
      : ['writes them.']),
    row(['', 'r+CAS/s', 'r+CAS p50', 'gateway/r+CAS'], w),
    ...report.phases.map((p) => row([p.name, int(p.rawCas.itemsPerSecond), `${ms(p.rawCas.latencyP50Ms)} ms`, p.ratioReadCas.toFixed(2)], w)),
  );
  const decomposed = report.phases.filter((p) => p.pattern !== null);
  if (decomposed.length > 0) {
    const w = [46, 12, 10, 10, 10];
    lines.push(
      '',
      "The gap in steps (--decompose): \"commands\" sends every store command the gateway and its change feed send, from",
      'the bare driver: the same logical writes (its change feed drains up to 500 documents at a time, as the relay,',
      'but does not overlap one batch\'s clean-up with the next append as the relay does).',
      '  step 1, floor → read + CAS: the version read and compare-and-set instead of one conditional findAndModify;',
      '  step 2, → commands: + idempotency claim/complete, each change\'s event in its outbox,',
      '          the change log, the ledger written from the changes, the outboxes cleared,',
      '          available-to-sell derived (inventory-raw-feed.ts);',
      '  step 3, → gateway: the same commands through HTTP, GraphQL, the bus, logging and metrics.',
      row(['', 'commands/s', 'step 1', 'step 2', 'step 3'], w),
    );
    for (const p of decomposed) {
      const cas = p.rawCas.itemsPerSecond;
      const pattern = p.pattern!.itemsPerSecond;
      lines.push(row([p.name, int(pattern), (cas / p.raw.itemsPerSecond).toFixed(2), (pattern / cas).toFixed(2), (p.gateway.itemsPerSecond / pattern).toFixed(2)], w));
    }
  }

  if (report.phases.every((p) => p.gateway.storeCommands === null)) lines.push('', `Store commands per item: ${NOT_COUNTED}`);
  else {
    lines.push('', "Store commands per item (gateway: its own mongodb_commands_total; raw sides: the bench driver's command monitor)");
    for (const p of report.phases) {
      const perItem = (commands: StoreCommands): string => {
        if (commands === null) return NOT_COUNTED;
        const total = Object.values(commands).reduce((sum, count) => sum + count, 0) / p.itemsPerRequest;
        return `${formatStoreCommands(commands, p.itemsPerRequest)} (${total.toFixed(2)})`;
      };
      const sides = [['gateway', p.gateway], ['raw', p.raw], ['rawCas', p.rawCas], ['pattern', p.pattern]] as const;
      sides.forEach(([name, side], i) => {
        if (side) lines.push(`${(i === 0 ? p.name : '').padEnd(36)}  ${`${LABELS[name]}:`.padEnd(20)} ${perItem(side.storeCommands)}`);
      });
    }
  }

  const cpuWidths = [36, 9, 9, 9, 7, 9, 9, 7];
  const perItem = (cpuMs: number | null, side: InventorySide, items: number): string => (cpuMs === null ? 'n/a' : int((cpuMs * 1000) / Math.max(1, side.completed * items)));
  const cores = (side: InventorySide): string => (side.cpu.otherMs === null ? 'n/a' : (side.cpu.otherMs / side.cpu.wallMs).toFixed(2));
  lines.push(
    '',
    'CPU time per item in the same phases, µs, by process. "other": cores kept busy on average by processes the',
    'bench did not start (from ~0.3 the phase shared the machine). "client": the bench process sending GraphQL.',
    `${''.padEnd(36)}  ${'via the gateway'.padStart(9 * 3 + 7 + 6)}  ${'raw driver: floor'.padStart(9 * 2 + 7 + 4)}`,
    row(['', 'gateway', 'client', 'store', 'other', 'driver', 'store', 'other'], cpuWidths),
  );
  for (const p of report.phases) {
    const n = p.itemsPerRequest;
    lines.push(
      row([p.name, perItem(p.gateway.cpu.gatewayMs, p.gateway, n), perItem(p.gateway.cpu.benchMs, p.gateway, n), perItem(p.gateway.cpu.storeMs, p.gateway, n), cores(p.gateway), perItem(p.raw.cpu.benchMs, p.raw, n), perItem(p.raw.cpu.storeMs, p.raw, n), cores(p.raw)], cpuWidths),
    );
    for (const [name, label] of OTHER_RAW_SIDES) {
      const side = p[name];
      if (side) lines.push(row([`  ${label}`, '', '', '', '', perItem(side.cpu.benchMs, side, n), perItem(side.cpu.storeMs, side, n), cores(side)], cpuWidths));
    }
  }

  lines.push(
    '',
    "Checked after timing, every side: each position's ledger is the unbroken chain receipt → −1 → −1 … ending at its",
    'onHand, one movement per applied change (= its version), and every item a client was told was applied is there.',
    ...Object.entries(report.correctness).map(([name, summary]) => `${`${LABELS[name as SideName]}:`.padEnd(20)} ${int(summary.positions)} positions, ${int(summary.appliedItems)} items applied, ${int(summary.movements)} movements`),
    '',
  );
  return lines.join('\n');
}

/** One line, last on stdout, so `… | tail -n 1` is machine input. */
export function formatInventoryJsonLine(report: InventoryReport): string {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? round(value) : value));
}
