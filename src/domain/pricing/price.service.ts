import type { ChangeLogRepository } from '../../store/repositories/change-log.repository.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { PriceHistoryRepository } from '../../store/repositories/price-history.repository.js';
import type { PriceListRepository } from '../../store/repositories/price-list.repository.js';
import type { PriceRepository } from '../../store/repositories/price.repository.js';
import type { SkuRepository } from '../../store/repositories/sku.repository.js';
import { assertChannelAccess } from '../access/channel-access.js';
import { runBatchMutation, unknownReferences } from '../common/batch-mutation.js';
import { DomainError, invalidInput, type ErrorResultValue, type InputIssue } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import { pageOf, pageRequest, type Page } from '../common/pagination.js';
import type { RequestContext } from '../common/request-context.js';
import { codeSchema, regionSchema } from '../common/validation.js';
import { assertCanWritePriceList, canSeePriceList } from './price-list-access.js';
import { selectPrice } from './price-selection.js';
import { priceChangesOfChanges } from './price-history-recorder.js';
import { PriceWriter } from './price-writer.js';
import { priceKey, type PriceBatchOutcome, type PriceChangeRecord, type PriceListRecord, type PriceRecord, type PriceResolutionRecord } from './pricing.types.js';
import { priceBatchSchema } from './pricing.validation.js';

export class PriceService {
  private readonly writer: PriceWriter;

  constructor(
    private readonly prices: PriceRepository,
    private readonly history: PriceHistoryRepository,
    private readonly priceLists: PriceListRepository,
    private readonly skus: SkuRepository,
    private readonly channels: ChannelRepository,
    private readonly idempotency: IdempotencyService,
    private readonly changeLog: ChangeLogRepository,
  ) {
    this.writer = new PriceWriter(prices, history, changeLog);
  }

  /** Null when there is no such price or its list is hidden from the caller (scoped to another channel). */
  async get(ctx: RequestContext, priceList: string, sku: string): Promise<PriceRecord | null> {
    if (!(await this.visibleList(ctx, priceList))) return null;
    return this.prices.findByKey(priceKey(priceList, sku));
  }

  /** A list's prices ordered by SKU code; empty for an unknown or hidden list. */
  async list(ctx: RequestContext, priceList: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<PriceRecord>> {
    const request = pageRequest(first, after);
    if (!(await this.visibleList(ctx, priceList))) return pageOf<PriceRecord>([], request, (price) => price.sku, async () => 0);
    return this.prices.list(priceList, request);
  }

  /** Every applied change of one price, newest first; empty for an unknown or hidden list. */
  async historyOf(ctx: RequestContext, priceList: string, sku: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<PriceChangeRecord>> {
    const request = pageRequest(first, after);
    const beforeVersion = request.afterKey === null ? null : Number(request.afterKey);
    if (beforeVersion !== null && !(Number.isSafeInteger(beforeVersion) && beforeVersion > 0)) {
      throw new DomainError('BAD_USER_INPUT', `Invalid cursor "${after}": pass an endCursor from a previous page of priceHistory.`, { argument: 'after' });
    }
    if (!(await this.visibleList(ctx, priceList))) return pageOf<PriceChangeRecord>([], request, (change) => String(change.after.version), async () => 0);
    // The outbox before the history: an entry leaves the outbox only once the relay has written it to the history.
    const unwritten = priceChangesOfChanges(await this.changeLog.pendingChanges('Price', [priceKey(priceList, sku)]));
    return this.history.page(priceList, sku, request, beforeVersion, unwritten);
  }

  /**
   * Sets up to 500 prices of one list; see {@link PriceWriter} for how each item applies exactly once. Bad input
   * (unknown list or SKU, out-of-range amounts, duplicates) rejects the whole batch and writes nothing; a stale
   * compareVersion rejects only its item.
   */
  set(ctx: RequestContext, priceList: string, input: unknown, idempotencyKey: string | null | undefined): Promise<PriceBatchOutcome | ErrorResultValue> {
    if (idempotencyKey === null || idempotencyKey === undefined) {
      // The schema makes the key required; callers inside the process get the same rule.
      return Promise.resolve(invalidInput([{ index: null, path: ['idempotencyKey'], code: 'REQUIRED', message: 'setPrices requires an idempotency key.' }]));
    }
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'setPrices',
      idempotencyKey,
      input,
      argument: 'items',
      arguments: { priceList },
      schema: priceBatchSchema,
      identity: { keyOf: (item) => item.sku, path: ['sku'], what: 'SKU' },
      execute: async (items, scope) => {
        const listIsWellFormed = codeSchema.safeParse(priceList).success;
        const [list, skus] = await Promise.all([listIsWellFormed ? this.priceLists.findByKey(priceList) : null, this.skus.findByKeys(items.map((item) => item.sku))]);
        if (list) assertCanWritePriceList(ctx.caller, list);
        const knownSkus = new Set(skus.map((sku) => sku.code));
        const issues: InputIssue[] = [
          ...(list ? [] : [listIsWellFormed ? { index: null, path: ['priceList'], code: 'UNKNOWN_REFERENCE' as const, message: `Price list "${priceList}" does not exist.` } : { index: null, path: ['priceList'], code: 'INVALID_FORMAT' as const, message: `"${priceList.slice(0, 64)}" is not a price list code.` }]),
          ...unknownReferences(items, (item) => item.sku, (code) => knownSkus.has(code), ['sku'], 'SKU'),
        ];
        if (issues.length > 0) return invalidInput(issues);
        if (scope === null) throw new Error('setPrices runs under an idempotency key');
        const results = await this.writer.apply(ctx, { priceList, idempotencyKey, operationScope: scope.id, resumed: scope.resumed, items, currency: list!.currency, channels: list!.channelCode ? [list!.channelCode] : null });
        return { kind: 'batch', items: results, replayed: false } satisfies PriceBatchOutcome;
      },
    });
  }

  /**
   * The price `channel` sells `sku` at, at `at` (default: now), in `region` (default: the channel's), with every
   * candidate list and why it won or lost (see price-selection.ts). A key bound to other channels gets
   * FORBIDDEN; candidates from lists it may not see are left out (they are scoped to other channels, so they
   * could never win here).
   */
  async priceAt(ctx: RequestContext, sku: string, channelCode: string, region: string | null | undefined, at: Date | null | undefined): Promise<PriceResolutionRecord> {
    assertChannelAccess(ctx.caller, channelCode);
    const channel = await this.channels.findByKey(channelCode);
    if (!channel) throw new DomainError('NOT_FOUND', `Channel "${channelCode}" does not exist.`, { argument: 'channel' });
    const saleRegion = region === null || region === undefined ? channel.region : regionSchema.safeParse(region).data;
    if (saleRegion === undefined) throw new DomainError('BAD_USER_INPUT', 'Expected a region of 1–64 characters.', { argument: 'region' });
    const when = at ?? ctx.now;

    const prices = await this.prices.findBySku(sku);
    const lists = await this.priceLists.findByKeys([...new Set(prices.map((price) => price.priceList))]);
    // Price.priceList resolves through the loader: hand it what is already here.
    for (const list of lists) ctx.loaders.priceListByCode.prime(list.code, list);
    const listByCode = new Map(lists.map((list) => [list.code, list]));
    const candidates = prices.flatMap((price) => {
      const list = listByCode.get(price.priceList);
      return list ? [{ list, price }] : [];
    });
    const selection = selectPrice(candidates, { channelCode, currency: channel.currency, region: saleRegion, at: when });
    return {
      sku,
      channelCode,
      region: saleRegion,
      currency: channel.currency,
      at: when,
      winner: selection.winner,
      candidates: selection.judged
        .filter(({ candidate }) => canSeePriceList(ctx.caller, candidate.list))
        .map(({ candidate, reason, outrankedBy }) => ({ list: candidate.list, price: candidate.price, reason, outrankedBy })),
    };
  }

  private async visibleList(ctx: RequestContext, code: string): Promise<PriceListRecord | null> {
    const list = await ctx.loaders.priceListByCode.load(code);
    return list && canSeePriceList(ctx.caller, list) ? list : null;
  }
}
