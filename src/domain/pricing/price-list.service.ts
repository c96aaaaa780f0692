import { originOf } from '../changes/change-event.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { PriceListRepository } from '../../store/repositories/price-list.repository.js';
import { codeBatchSchema } from '../catalog/catalog.validation.js';
import { batchResult, type BatchOutcome } from '../common/batch.js';
import { requiredOnCreate, runBatchMutation, unknownReferences } from '../common/batch-mutation.js';
import { invalidInput, type InputIssue } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import type { RequestContext } from '../common/request-context.js';
import { applyUpserts, loadByKey, type Content, type UpsertPlan } from '../common/versioned-upsert.js';
import { assertCanWritePriceList, canSeePriceList } from './price-list-access.js';
import type { PriceListRecord } from './pricing.types.js';
import { effectiveWindowIssue, priceListBatchSchema, type PriceListItem } from './pricing.validation.js';

/** Left out: keep the stored value. Null clears the optional scope and window fields. */
const upsertPlan: UpsertPlan<PriceListRecord, PriceListItem> = {
  keyOf: (item) => item.code,
  keyOfRecord: (record) => record.code,
  build: (current, item) => ({
    code: item.code,
    name: item.name ?? current?.name ?? '',
    currency: item.currency ?? current?.currency ?? '',
    channelCode: item.channelCode === undefined ? (current?.channelCode ?? null) : item.channelCode,
    region: item.region === undefined ? (current?.region ?? null) : item.region,
    effectiveFrom: item.effectiveFrom === undefined ? (current?.effectiveFrom ?? null) : item.effectiveFrom,
    effectiveUntil: item.effectiveUntil === undefined ? (current?.effectiveUntil ?? null) : item.effectiveUntil,
    priority: item.priority ?? current?.priority ?? 0,
    taxMode: item.taxMode ?? current?.taxMode ?? 'GROSS',
    archivedAt: null,
  }),
};

const archivePlan = (now: Date): UpsertPlan<PriceListRecord, string> => ({
  keyOf: (code) => code,
  keyOfRecord: (record) => record.code,
  build: (current) => {
    // execute() rejects unknown codes before any write, so there is always a current record here.
    const { version: _v, createdAt: _c, updatedAt: _u, ...content } = current!;
    return { ...content, archivedAt: current!.archivedAt ?? now };
  },
});

export class PriceListService {
  constructor(
    private readonly priceLists: PriceListRepository,
    private readonly channels: ChannelRepository,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** Null when the list does not exist or is scoped to a channel the caller's key is not bound to. */
  async get(ctx: RequestContext, code: string): Promise<PriceListRecord | null> {
    const list = await ctx.loaders.priceListByCode.load(code);
    return list && canSeePriceList(ctx.caller, list) ? list : null;
  }

  async list(ctx: RequestContext, includeArchived: boolean | null | undefined): Promise<PriceListRecord[]> {
    return (await this.priceLists.listAll(includeArchived ?? false)).filter((list) => canSeePriceList(ctx.caller, list));
  }

  upsert(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<PriceListRecord>> {
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'upsertPriceLists',
      idempotencyKey,
      input,
      schema: priceListBatchSchema,
      identity: { keyOf: (item) => item.code, path: ['code'], what: 'Price list code' },
      execute: async (items) => {
        const referenced = [...new Set(items.flatMap((item) => (item.channelCode ? [item.channelCode] : [])))];
        const [loaded, channels] = await Promise.all([loadByKey(this.priceLists, upsertPlan, items.map((item) => item.code)), this.channels.findByKeys(referenced)]);
        const built = items.map((item) => upsertPlan.build(loaded.get(item.code) ?? null, item));
        for (const [index, item] of items.entries()) {
          const current = loaded.get(item.code);
          if (current) assertCanWritePriceList(ctx.caller, current);
          assertCanWritePriceList(ctx.caller, built[index]!);
        }
        const knownChannels = new Set(channels.map((channel) => channel.code));
        const issues: InputIssue[] = [
          ...requiredOnCreate(items, (item) => !loaded.has(item.code), ['name', 'currency']),
          ...unknownReferences(items, (item) => item.channelCode, (code) => knownChannels.has(code), ['channelCode'], 'Channel'),
          ...items.flatMap((item, index) => changedCurrency(index, item, loaded.get(item.code))),
          // The item alone was checked by the schema; with stored values filled in, the window may still be empty.
          ...items.flatMap((item, index) => (loaded.has(item.code) ? emptyWindow(index, item, built[index]!) : [])),
        ];
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.priceLists, upsertPlan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }

  archive(ctx: RequestContext, codes: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<PriceListRecord>> {
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'archivePriceLists',
      idempotencyKey,
      input: codes,
      argument: 'codes',
      schema: codeBatchSchema,
      identity: { keyOf: (code) => code, path: [], what: 'Price list code' },
      execute: async (items) => {
        const plan = archivePlan(ctx.now);
        const loaded = await loadByKey(this.priceLists, plan, items);
        for (const list of loaded.values()) assertCanWritePriceList(ctx.caller, list);
        const issues = unknownReferences(items, (code) => code, (code) => loaded.has(code), [], 'Price list');
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.priceLists, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }
}

/** Amounts are minor units of the list's currency: changing it would silently reprice every SKU (#4). */
function changedCurrency(index: number, item: PriceListItem, current: PriceListRecord | undefined): InputIssue[] {
  if (!current || !item.currency || item.currency === current.currency) return [];
  return [
    {
      index,
      path: ['currency'],
      code: 'CONFLICT',
      message: `Price list "${item.code}" is in ${current.currency} and its currency cannot change (amounts are minor units of it); create a new list for ${item.currency}.`,
    },
  ];
}

function emptyWindow(index: number, item: PriceListItem, content: Content<PriceListRecord>): InputIssue[] {
  const message = effectiveWindowIssue(content.effectiveFrom, content.effectiveUntil);
  // Blame the end the item changed (it may have sent only one of them).
  const path = item.effectiveUntil === undefined ? ['effectiveFrom'] : ['effectiveUntil'];
  return message ? [{ index, path, code: 'OUT_OF_RANGE', message }] : [];
}
