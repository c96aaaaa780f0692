import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareRank, selectPrice, type SelectableList, type SelectionQuery } from '../../src/domain/pricing/price-selection.js';
import { referencePriceAt, type ModelList } from '../utils/price-reference-model.js';

const T = (day: number) => new Date(Date.UTC(2026, 0, 1 + day));

const list = (code: string, overrides: Partial<SelectableList> = {}): SelectableList => ({
  code,
  currency: 'EUR',
  channelCode: null,
  region: null,
  effectiveFrom: null,
  effectiveUntil: null,
  priority: 0,
  archivedAt: null,
  ...overrides,
});

const sale: SelectionQuery = { channelCode: 'WEB', currency: 'EUR', region: 'EU', at: T(10) };

const judge = (lists: readonly SelectableList[], query: SelectionQuery = sale) => {
  const selection = selectPrice(lists.map((l) => ({ list: l })), query);
  return { winner: selection.winner?.list.code ?? null, judged: selection.judged.map((j) => [j.candidate.list.code, j.reason, j.outrankedBy]) };
};

describe('price selection rules', () => {
  it('prefers a dated list over an undated one, whatever their scope and priority', () => {
    const result = judge([list('BASE', { channelCode: 'WEB', region: 'EU', priority: 1000 }), list('SALE', { effectiveFrom: T(5), priority: -1000 })]);
    expect(result).toEqual({ winner: 'SALE', judged: [['SALE', 'SELECTED', null], ['BASE', 'OUTRANKED', 'DATED']] });
  });

  it('ranks scope channel + region > channel > region > global, before priority', () => {
    const result = judge([
      list('GLOBAL', { priority: 9 }),
      list('REGION', { region: 'EU', priority: 5 }),
      list('CHANNEL', { channelCode: 'WEB', priority: 1 }),
      list('BOTH', { channelCode: 'WEB', region: 'EU' }),
    ]);
    expect(result.judged).toEqual([
      ['BOTH', 'SELECTED', null],
      ['CHANNEL', 'OUTRANKED', 'SCOPE'],
      ['REGION', 'OUTRANKED', 'SCOPE'],
      ['GLOBAL', 'OUTRANKED', 'SCOPE'],
    ]);
  });

  it('breaks ties by priority, then by list code', () => {
    expect(judge([list('B', { priority: 1 }), list('A'), list('C', { priority: 1 })]).judged).toEqual([
      ['B', 'SELECTED', null],
      ['C', 'OUTRANKED', 'CODE'],
      ['A', 'OUTRANKED', 'PRIORITY'],
    ]);
  });

  it('treats effectiveFrom as inclusive and effectiveUntil as exclusive', () => {
    const window = list('W', { effectiveFrom: T(10), effectiveUntil: T(11) });
    expect(judge([window], { ...sale, at: T(10) }).winner).toBe('W');
    expect(judge([window], { ...sale, at: new Date(T(11).getTime() - 1) }).winner).toBe('W');
    expect(judge([window], { ...sale, at: T(11) }).judged).toEqual([['W', 'EXPIRED', null]]);
    expect(judge([window], { ...sale, at: new Date(T(10).getTime() - 1) }).judged).toEqual([['W', 'NOT_YET_EFFECTIVE', null]]);
  });

  it('names the first reason that applies, in the documented order', () => {
    const everything = { archivedAt: T(0), currency: 'USD', channelCode: 'POS', region: 'US', effectiveFrom: T(20) };
    expect(judge([list('X', everything)]).judged).toEqual([['X', 'ARCHIVED', null]]);
    expect(judge([list('X', { ...everything, archivedAt: null })]).judged).toEqual([['X', 'CURRENCY_MISMATCH', null]]);
    expect(judge([list('X', { ...everything, archivedAt: null, currency: 'EUR' })]).judged).toEqual([['X', 'OTHER_CHANNEL', null]]);
    expect(judge([list('X', { ...everything, archivedAt: null, currency: 'EUR', channelCode: 'WEB' })]).judged).toEqual([['X', 'OTHER_REGION', null]]);
    expect(judge([list('X', { ...everything, archivedAt: null, currency: 'EUR', channelCode: 'WEB', region: 'EU' })]).judged).toEqual([['X', 'NOT_YET_EFFECTIVE', null]]);
  });

  it('has no winner when nothing is eligible, and lists the rejected by code', () => {
    expect(judge([list('Z', { currency: 'USD' }), list('A', { archivedAt: T(1) })])).toEqual({
      winner: null,
      judged: [
        ['A', 'ARCHIVED', null],
        ['Z', 'CURRENCY_MISMATCH', null],
      ],
    });
  });
});

const DAYS = [0, 5, 10, 15, 20];
const instant = fc.constantFrom(...DAYS).map(T);
const arbitraryList = (code: string) =>
  fc
    .record({
      currency: fc.constantFrom('EUR', 'USD'),
      channelCode: fc.constantFrom(null, 'WEB', 'POS'),
      region: fc.constantFrom(null, 'EU', 'US'),
      window: fc.option(fc.tuple(fc.option(instant), fc.option(instant))),
      priority: fc.integer({ min: -2, max: 2 }),
      // About one list in five is archived.
      archived: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    })
    .map(({ window, archived, ...rest }): SelectableList => {
      const [from, until] = window ?? [null, null];
      // An empty window cannot be stored; keep the valid ones.
      const valid = from === null || until === null || from < until;
      return { code, ...rest, effectiveFrom: valid ? from : null, effectiveUntil: valid ? until : null, archivedAt: archived ? T(0) : null };
    });
const arbitraryLists = fc.uniqueArray(fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F', 'G'), { minLength: 0, maxLength: 7 }).chain((codes) => fc.tuple(...codes.map(arbitraryList)));
const arbitrarySale = fc.record({
  channelCode: fc.constantFrom('WEB', 'POS'),
  currency: fc.constantFrom('EUR', 'USD'),
  region: fc.constantFrom('EU', 'US'),
  at: fc.constantFrom(...DAYS.flatMap((d) => [T(d).getTime() - 1, T(d).getTime(), T(d).getTime() + 3_600_000])).map((ms) => new Date(ms)),
});

const toModel = (l: SelectableList): ModelList => ({
  code: l.code,
  currency: l.currency,
  channelCode: l.channelCode,
  region: l.region,
  effectiveFrom: l.effectiveFrom?.getTime() ?? null,
  effectiveUntil: l.effectiveUntil?.getTime() ?? null,
  priority: l.priority,
  archived: l.archivedAt !== null,
});

describe('price selection properties', () => {
  it('matches the reference model: winner, every reason and the order of candidates', () => {
    fc.assert(
      fc.property(arbitraryLists, arbitrarySale, (lists, query) => {
        const expected = referencePriceAt(lists.map(toModel), { ...query, at: query.at.getTime() });
        const actual = judge(lists, query);
        expect(actual.winner).toBe(expected.winner);
        expect(actual.judged).toEqual(expected.verdicts.map((v) => [v.code, v.reason, v.outrankedBy]));
      }),
      { numRuns: 2000 },
    );
  });

  it('does not depend on the order the candidates come in', () => {
    fc.assert(
      fc.property(arbitraryLists.chain((lists) => fc.tuple(fc.constant(lists), fc.shuffledSubarray(lists, { minLength: lists.length }))), arbitrarySale, ([lists, shuffled], query) => {
        expect(judge(shuffled, query)).toEqual(judge(lists, query));
      }),
    );
  });

  it('ranks as a strict total order (antisymmetric, transitive)', () => {
    fc.assert(
      fc.property(arbitraryLists, (lists) => {
        for (const a of lists) {
          for (const b of lists) {
            expect(Math.sign(compareRank(a, b)) + Math.sign(compareRank(b, a))).toBe(0);
            if (a !== b) expect(compareRank(a, b)).not.toBe(0);
            for (const c of lists) if (compareRank(a, b) < 0 && compareRank(b, c) < 0) expect(compareRank(a, c)).toBeLessThan(0);
          }
        }
      }),
    );
  });
});
