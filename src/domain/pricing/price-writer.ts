import { createHash } from 'node:crypto';
import { operationEventId, originOf, outboxEntry } from '../changes/change-event.js';
import pMap from 'p-map';
import type { ChangeLogRepository } from '../../store/repositories/change-log.repository.js';
import type { PriceHistoryRepository } from '../../store/repositories/price-history.repository.js';
import type { PriceRepository } from '../../store/repositories/price.repository.js';
import { failpoint } from '../../faults/failpoints.js';
import { DomainError } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import { stableStringify } from '../common/stable-stringify.js';
import { priceChangeOfChange } from './price-history-recorder.js';
import { priceKey, type PriceChangeRecord, type PriceItemOutcomeRecord, type PriceRecord, type StalePriceErrorValue, type StoredPrice } from './pricing.types.js';
import type { PriceItem } from './pricing.validation.js';

/** Parallel writes per batch: enough to hide round trips, few enough not to starve other requests. */
const WRITE_CONCURRENCY = 8;
/**
 * An unconditional write that loses a race re-reads and tries again. Every lost race means another writer made
 * progress, so this bounds only pathological contention on one price.
 */
const MAX_RACE_RETRIES = 32;

/** One validated setPrices request, as the writer applies it. */
export interface PriceWriteRequest {
  readonly priceList: string;
  readonly idempotencyKey: string;
  /** This use of the key (`OperationScope` in idempotency.service.ts): the prefix of the items' operation ids. */
  readonly operationScope: string;
  /** An earlier attempt under this scope may have applied items (`OperationScope.resumed`); a first one cannot. */
  readonly resumed: boolean;
  readonly items: readonly PriceItem[];
  /** The list's currency and channel scope (null: every channel), carried by each price's change event. */
  readonly currency: string;
  readonly channels: readonly string[] | null;
}

/**
 * Applies setPrices items exactly once each, with no transaction (STORE.md):
 *
 * 1. Each item has an operation id `${operationScope}:${requestDigest}:${index}`. The operation scope names this
 *    use of the idempotency key (`${apiKeyId}:${idempotencyKey}:${generation}`): a retry continues the use it
 *    retries, the key used again after it expired is a new one. The request digest is older than scopes; it keeps
 *    apart the ids of records written before them, whose scope is `${apiKeyId}:${idempotencyKey}`.
 * 2. An item is one conditional update of its price document (CAS on the version read) that sets the new
 *    amount, bumps the version, pushes the operation id onto the document's bounded `recentChanges` and the
 *    change, with the operation id, onto its outbox, so "applied" and "recorded as applied" cannot separate. The
 *    relay writes the history entry from the change under the same id (OperationRecorder).
 * 3. A retry (the request's idempotency record was left IN_PROGRESS by a crash and taken over after its lease, or
 *    released by an error and sent again) finds its operation id in `recentChanges`, in the history, or — for a
 *    price whose entry the relay has not written yet and that changed 16 times since — as the change event the
 *    write made (its id derives from the operation id: {@link operationEventId}), pending in the price's outbox
 *    or logged. It reports the stored outcome: it never fails its own compare-and-set and never applies twice. A
 *    first attempt cannot find its ids anywhere and looks nowhere but the price it reads anyway.
 *
 * Items are independent: a stale compareVersion rejects only its own item.
 */
export class PriceWriter {
  constructor(
    private readonly prices: PriceRepository,
    private readonly history: PriceHistoryRepository,
    private readonly changeLog: ChangeLogRepository,
  ) {}

  async apply(ctx: RequestContext, request: PriceWriteRequest): Promise<PriceItemOutcomeRecord[]> {
    const digest = createHash('sha256').update(stableStringify({ priceList: request.priceList, items: request.items })).digest('hex').slice(0, 16);
    const operationId = (index: number) => `${request.operationScope}:${digest}:${index}`;
    const keys = request.items.map((item) => priceKey(request.priceList, item.sku));
    const [stored, recorded] = await Promise.all([this.prices.findForWrite(keys), request.resumed ? this.recorded(request, keys, operationId) : new Map<string, PriceChangeRecord>()]);
    const storedByKey = new Map(stored.map((price) => [price.record.key, price]));
    return pMap(
      request.items,
      (item, index) => {
        const id = operationId(index);
        const current = storedByKey.get(keys[index]!) ?? null;
        const earlier = recorded.get(id);
        // Applied by an earlier attempt whose entry left the document's recent list: the history has it, or its change.
        if (earlier) return applied(index, earlier, current?.record ?? null);
        return this.applyItem(ctx, request, item, index, id, current);
      },
      { concurrency: WRITE_CONCURRENCY },
    );
  }

  /**
   * What earlier attempts of a resumed request applied, by operation id: from the history, else rebuilt from the
   * change event the write made (one the relay has not written to the history yet). The prices' outboxes are read
   * before the log (an entry leaves its outbox only once logged).
   */
  private async recorded(request: PriceWriteRequest, keys: readonly string[], operationId: (index: number) => string): Promise<Map<string, PriceChangeRecord>> {
    const ids = request.items.map((_, index) => operationId(index));
    const recorded = new Map((await this.history.findByIds(ids)).map((change) => [change.id, change]));
    const byEventId = new Map(ids.filter((id) => !recorded.has(id)).map((id) => [operationEventId('Price', id), id]));
    const rebuilt = (await this.changeLog.findChanges('Price', keys, [...byEventId.keys()])).flatMap((change) => {
      const id = byEventId.get(change.eventId);
      return id ? [priceChangeOfChange(id, change)] : [];
    });
    for (const change of rebuilt) recorded.set(change.id, change);
    return recorded;
  }

  private async applyItem(ctx: RequestContext, request: PriceWriteRequest, item: PriceItem, index: number, id: string, initial: StoredPrice | null): Promise<PriceItemOutcomeRecord> {
    const compareAtAmount = item.compareAtAmount ?? null;
    let current = initial;
    for (let attempt = 0; attempt <= MAX_RACE_RETRIES; attempt++) {
      const earlier = current?.recentChanges.find((change) => change.id === id);
      // Written by an earlier attempt of this request.
      if (earlier) return applied(index, earlier, current!.record);
      const record = current?.record ?? null;
      const stale = staleness(request.priceList, item, record);
      if (stale) return { index, outcome: 'REJECTED', price: record, change: null, error: stale };
      if (record && record.amount === item.amount && record.compareAtAmount === compareAtAmount) {
        return { index, outcome: 'UNCHANGED', price: record, change: null, error: null };
      }
      const change: PriceChangeRecord = {
        id,
        priceList: request.priceList,
        sku: item.sku,
        before: record ? { amount: record.amount, compareAtAmount: record.compareAtAmount, version: record.version } : null,
        after: { amount: item.amount, compareAtAmount, version: (record?.version ?? 0) + 1 },
        apiKeyId: ctx.caller.keyId,
        apiKey: ctx.caller.name,
        idempotencyKey: request.idempotencyKey,
        at: ctx.now,
      };
      const entry = outboxEntry(
        originOf(ctx, { idempotencyKey: request.idempotencyKey }),
        ctx.now,
        {
          version: change.after.version,
          // `previous`: with the rest, what the history entry is made from (price-history-recorder.ts).
          data: { priceList: request.priceList, sku: item.sku, currency: request.currency, amount: item.amount, compareAtAmount, channels: request.channels, previous: change.before && { amount: change.before.amount, compareAtAmount: change.before.compareAtAmount } },
          operationId: id,
        },
        operationEventId('Price', id),
      );
      const written = change.before === null ? await this.prices.insert(change, entry) : await this.prices.apply({ ...change, before: change.before }, entry);
      if (written) {
        // Fault tests stop the process here: the price is written, its history entry is the relay's to write.
        await failpoint('prices.after-price-write');
        return applied(index, change, record);
      }
      // Someone else wrote the price between our read and write: decide again on what is stored now.
      current = (await this.prices.findForWrite([priceKey(request.priceList, item.sku)]))[0] ?? null;
    }
    throw new DomainError('CONFLICT', `The price of SKU "${item.sku}" in price list "${request.priceList}" kept changing while it was written; retry the request.`);
  }
}

/** The item's result for a change that is stored (now or by an earlier attempt of the same request). */
function applied(index: number, change: PriceChangeRecord, current: PriceRecord | null): PriceItemOutcomeRecord {
  const price: PriceRecord = {
    key: priceKey(change.priceList, change.sku),
    priceList: change.priceList,
    sku: change.sku,
    amount: change.after.amount,
    compareAtAmount: change.after.compareAtAmount,
    version: change.after.version,
    createdAt: change.before === null ? change.at : (current?.createdAt ?? change.at),
    updatedAt: change.at,
  };
  return { index, outcome: change.before === null ? 'CREATED' : 'UPDATED', price, change, error: null };
}

/** The item's compare-and-set failure, or null when it may be written (or has no compareVersion). */
function staleness(priceList: string, item: PriceItem, current: PriceRecord | null): StalePriceErrorValue | null {
  const expected = item.compareVersion;
  const currentVersion = current?.version ?? 0;
  if (expected === null || expected === undefined || expected === currentVersion) return null;
  const state = current ? `is at version ${currentVersion} (amount ${current.amount})` : 'has no price yet';
  return {
    errorType: 'StalePriceError',
    message: `The price of SKU "${item.sku}" in price list "${priceList}" ${state}, not version ${expected}; read it again and decide.`,
    sku: item.sku,
    expectedVersion: expected,
    currentVersion,
    currentAmount: current?.amount ?? null,
    currentCompareAtAmount: current?.compareAtAmount ?? null,
  };
}
