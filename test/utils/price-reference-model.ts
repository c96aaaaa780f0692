/**
 * An independent statement of the price selection rules (docs/pricing.md), written without the production code
 * in view: the property tests check src/domain/pricing/price-selection.ts, the service and the API against it.
 */

export interface ModelList {
  readonly code: string;
  readonly currency: string;
  readonly channelCode: string | null;
  readonly region: string | null;
  /** Epoch milliseconds; null: open. */
  readonly effectiveFrom: number | null;
  readonly effectiveUntil: number | null;
  readonly priority: number;
  readonly archived: boolean;
}

export interface ModelSale {
  readonly channelCode: string;
  readonly currency: string;
  readonly region: string;
  readonly at: number;
}

export interface ModelVerdict {
  readonly code: string;
  readonly reason: string;
  readonly outrankedBy: string | null;
}

const DISQUALIFIERS: readonly (readonly [string, (list: ModelList, sale: ModelSale) => boolean])[] = [
  ['ARCHIVED', (list) => list.archived],
  ['CURRENCY_MISMATCH', (list, sale) => list.currency !== sale.currency],
  ['OTHER_CHANNEL', (list, sale) => list.channelCode !== null && list.channelCode !== sale.channelCode],
  ['OTHER_REGION', (list, sale) => list.region !== null && list.region !== sale.region],
  ['NOT_YET_EFFECTIVE', (list, sale) => list.effectiveFrom !== null && sale.at < list.effectiveFrom],
  ['EXPIRED', (list, sale) => list.effectiveUntil !== null && sale.at >= list.effectiveUntil],
];

const SPECIFICITY: Record<string, number> = { 'channel+region': 3, channel: 2, region: 1, global: 0 };

function scopeName(list: ModelList): string {
  if (list.channelCode !== null && list.region !== null) return 'channel+region';
  if (list.channelCode !== null) return 'channel';
  if (list.region !== null) return 'region';
  return 'global';
}

/** Bigger is better, component by component; the code breaks ties, smaller first. */
function score(list: ModelList): [number, number, number] {
  const dated = list.effectiveFrom === null && list.effectiveUntil === null ? 0 : 1;
  return [dated, SPECIFICITY[scopeName(list)]!, list.priority];
}

function beats(a: ModelList, b: ModelList): boolean {
  const [sa, sb] = [score(a), score(b)];
  for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sa[i]! > sb[i]!;
  return a.code < b.code;
}

function firstDifference(winner: ModelList, other: ModelList): string {
  const [sw, so] = [score(winner), score(other)];
  const names = ['DATED', 'SCOPE', 'PRIORITY'];
  for (let i = 0; i < sw.length; i++) if (sw[i] !== so[i]) return names[i]!;
  return 'CODE';
}

/** The winning list's code (or null) and a verdict per list, in the documented order of candidates. */
export function referencePriceAt(lists: readonly ModelList[], sale: ModelSale): { winner: string | null; verdicts: ModelVerdict[] } {
  const eligible: ModelList[] = [];
  const rejected: ModelVerdict[] = [];
  for (const list of lists) {
    const reason = DISQUALIFIERS.find(([, applies]) => applies(list, sale))?.[0];
    if (reason) rejected.push({ code: list.code, reason, outrankedBy: null });
    else eligible.push(list);
  }
  // Selection sort by "beats": slow and obvious.
  const ranked: ModelList[] = [];
  const pool = [...eligible];
  while (pool.length > 0) {
    const best = pool.reduce((a, b) => (beats(a, b) ? a : b));
    ranked.push(best);
    pool.splice(pool.indexOf(best), 1);
  }
  rejected.sort((a, b) => (a.code < b.code ? -1 : 1));
  const winner = ranked[0] ?? null;
  return {
    winner: winner?.code ?? null,
    verdicts: [
      ...ranked.map((list, i) => (i === 0 ? { code: list.code, reason: 'SELECTED', outrankedBy: null } : { code: list.code, reason: 'OUTRANKED', outrankedBy: firstDifference(winner!, list) })),
      ...rejected,
    ],
  };
}
