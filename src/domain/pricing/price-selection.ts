import type { CandidateReason, RankRule } from './pricing.types.js';

/**
 * Which price a channel sells a SKU at, at a given time: a pure function of the candidate price lists, so it
 * can be tested exhaustively (test/unit/price-selection.test.ts) and explained to the caller. docs/pricing.md
 * states the same rules for API users; change both together.
 *
 * 1. A list is eligible unless, checked in this order, it is ARCHIVED, in another currency than the channel
 *    (CURRENCY_MISMATCH), scoped to another channel (OTHER_CHANNEL), scoped to another region than the sale's
 *    (OTHER_REGION), not yet effective (`at < effectiveFrom`: NOT_YET_EFFECTIVE) or no longer effective
 *    (`at >= effectiveUntil`: EXPIRED). The first that applies is the candidate's reason.
 * 2. Eligible lists are ranked by, in order:
 *    DATED    a list with effectiveFrom or effectiveUntil beats one with neither (a sale beats the base list);
 *    SCOPE    channel + region > channel > region > global;
 *    PRIORITY higher first;
 *    CODE     the list code ascending (ASCII), so the choice is deterministic.
 *    The first is SELECTED; every other eligible list is OUTRANKED, with the first rule it lost by.
 */

/** The fields of a price list the selection reads. */
export interface SelectableList {
  readonly code: string;
  readonly currency: string;
  readonly channelCode: string | null;
  readonly region: string | null;
  readonly effectiveFrom: Date | null;
  readonly effectiveUntil: Date | null;
  readonly priority: number;
  readonly archivedAt: Date | null;
}

/** Where and when the SKU is being sold. */
export interface SelectionQuery {
  readonly channelCode: string;
  /** The channel's currency. */
  readonly currency: string;
  /** The sale's region: the channel's own unless the caller names another. */
  readonly region: string;
  readonly at: Date;
}

export type Ineligibility = Exclude<CandidateReason, 'SELECTED' | 'OUTRANKED'>;

export interface Judged<C> {
  readonly candidate: C;
  readonly reason: CandidateReason;
  /** For OUTRANKED only: the first rule by which the winner ranked higher. */
  readonly outrankedBy: RankRule | null;
}

export interface Selection<C> {
  readonly winner: C | null;
  /** The winner first, then the outranked candidates in rank order, then the ineligible ones by list code. */
  readonly judged: readonly Judged<C>[];
}

/** Why the list cannot apply to this sale, or null when it can. */
export function ineligibility(list: SelectableList, query: SelectionQuery): Ineligibility | null {
  const at = query.at.getTime();
  if (list.archivedAt !== null) return 'ARCHIVED';
  if (list.currency !== query.currency) return 'CURRENCY_MISMATCH';
  if (list.channelCode !== null && list.channelCode !== query.channelCode) return 'OTHER_CHANNEL';
  if (list.region !== null && list.region !== query.region) return 'OTHER_REGION';
  if (list.effectiveFrom !== null && at < list.effectiveFrom.getTime()) return 'NOT_YET_EFFECTIVE';
  if (list.effectiveUntil !== null && at >= list.effectiveUntil.getTime()) return 'EXPIRED';
  return null;
}

export function isDated(list: SelectableList): boolean {
  return list.effectiveFrom !== null || list.effectiveUntil !== null;
}

/** 3: channel + region, 2: channel, 1: region, 0: global. */
export function scopeSpecificity(list: SelectableList): number {
  return (list.channelCode !== null ? 2 : 0) + (list.region !== null ? 1 : 0);
}

const RANK_RULES: readonly { readonly rule: RankRule; readonly compare: (a: SelectableList, b: SelectableList) => number }[] = [
  { rule: 'DATED', compare: (a, b) => Number(isDated(b)) - Number(isDated(a)) },
  { rule: 'SCOPE', compare: (a, b) => scopeSpecificity(b) - scopeSpecificity(a) },
  { rule: 'PRIORITY', compare: (a, b) => b.priority - a.priority },
  { rule: 'CODE', compare: (a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) },
];

/** Negative when `a` ranks above `b`; 0 only for the same list. */
export function compareRank(a: SelectableList, b: SelectableList): number {
  for (const { compare } of RANK_RULES) {
    const order = compare(a, b);
    if (order !== 0) return order;
  }
  return 0;
}

/** The first rule by which `higher` ranks above `lower`. */
export function outrankingRule(higher: SelectableList, lower: SelectableList): RankRule {
  return RANK_RULES.find(({ compare }) => compare(higher, lower) !== 0)?.rule ?? 'CODE';
}

/** Judges every candidate (one per price list) for the sale described by `query`. */
export function selectPrice<C extends { readonly list: SelectableList }>(candidates: readonly C[], query: SelectionQuery): Selection<C> {
  const eligible: C[] = [];
  const ineligible: Judged<C>[] = [];
  for (const candidate of candidates) {
    const reason = ineligibility(candidate.list, query);
    if (reason === null) eligible.push(candidate);
    else ineligible.push({ candidate, reason, outrankedBy: null });
  }
  eligible.sort((a, b) => compareRank(a.list, b.list));
  ineligible.sort((a, b) => (a.candidate.list.code < b.candidate.list.code ? -1 : a.candidate.list.code > b.candidate.list.code ? 1 : 0));
  const [winner, ...outranked] = eligible;
  if (winner === undefined) return { winner: null, judged: ineligible };
  return {
    winner,
    judged: [
      { candidate: winner, reason: 'SELECTED', outrankedBy: null },
      ...outranked.map((candidate) => ({ candidate, reason: 'OUTRANKED' as const, outrankedBy: outrankingRule(winner.list, candidate.list) })),
      ...ineligible,
    ],
  };
}
