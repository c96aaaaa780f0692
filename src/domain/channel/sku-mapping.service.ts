import { originOf } from '../changes/change-event.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { SkuMappingQuery, SkuMappingRepository } from '../../store/repositories/sku-mapping.repository.js';
import type { SkuRepository } from '../../store/repositories/sku.repository.js';
import { assertChannelAccess, canSeeChannel } from '../access/channel-access.js';
import { batchResult, type BatchOutcome } from '../common/batch.js';
import { runBatchMutation, unknownReferences } from '../common/batch-mutation.js';
import { invalidInput, type InputIssue, type InvalidInputResult } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import { pageRequest, type Page } from '../common/pagination.js';
import type { RequestContext } from '../common/request-context.js';
import { codeBatchSchema } from '../catalog/catalog.validation.js';
import { duplicatesInBatch } from '../common/validation.js';
import { applyUpserts, loadByKey, type Content, type UpsertPlan } from '../common/versioned-upsert.js';
import { skuMappingKey, type ExternalIds, type SkuMappingRecord } from './channel.types.js';
import { skuMappingBatchSchema, type SkuMappingItem } from './channel.validation.js';

function idsOf(source: ExternalIds): ExternalIds {
  return {
    externalVariantId: source.externalVariantId,
    externalProductId: source.externalProductId ?? null,
    externalInventoryItemId: source.externalInventoryItemId ?? null,
  };
}

function sameIds(a: ExternalIds, b: ExternalIds): boolean {
  return a.externalVariantId === b.externalVariantId && a.externalProductId === b.externalProductId && a.externalInventoryItemId === b.externalInventoryItemId;
}

/** Moves the current ids into the history when they are replaced or removed. */
function retire(ctx: RequestContext, current: SkuMappingRecord): SkuMappingRecord['history'] {
  return [...current.history, { ...idsOf(current), replacedAt: ctx.now, replacedBy: ctx.caller.name }];
}

function contentOf(record: SkuMappingRecord): Content<SkuMappingRecord> {
  const { version: _v, createdAt: _c, updatedAt: _u, ...content } = record;
  return content;
}

function mapPlan(ctx: RequestContext, channelCode: string): UpsertPlan<SkuMappingRecord, SkuMappingItem> {
  return {
    keyOf: (item) => skuMappingKey(channelCode, item.skuCode),
    keyOfRecord: (record) => record.key,
    build: (current, item) => {
      const ids = idsOf({ ...item, externalProductId: item.externalProductId ?? null, externalInventoryItemId: item.externalInventoryItemId ?? null });
      if (current && current.active && sameIds(current, ids)) return contentOf(current);
      return {
        key: skuMappingKey(channelCode, item.skuCode),
        channelCode,
        skuCode: item.skuCode,
        ...ids,
        active: true,
        // Ids of an inactive mapping were retired when it was unmapped.
        history: current?.active ? retire(ctx, current) : (current?.history ?? []),
      };
    },
  };
}

function unmapPlan(ctx: RequestContext, channelCode: string): UpsertPlan<SkuMappingRecord, string> {
  return {
    keyOf: (skuCode) => skuMappingKey(channelCode, skuCode),
    keyOfRecord: (record) => record.key,
    // execute() rejects SKUs without a mapping before any write, so there is always a current record.
    build: (current) => (current!.active ? { ...contentOf(current!), active: false, history: retire(ctx, current!) } : contentOf(current!)),
  };
}

export class SkuMappingService {
  constructor(
    private readonly mappings: SkuMappingRepository,
    private readonly skus: SkuRepository,
    private readonly channels: ChannelRepository,
    private readonly idempotency: IdempotencyService,
  ) {}

  list(ctx: RequestContext, channelCode: string, filter: SkuMappingQuery | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Page<SkuMappingRecord>> {
    assertChannelAccess(ctx.caller, channelCode);
    return this.mappings.list(channelCode, filter, pageRequest(first, after));
  }

  /** The SKU's active mappings in the channels the caller may see. */
  async forSku(ctx: RequestContext, skuCode: string): Promise<SkuMappingRecord[]> {
    const mappings = await ctx.loaders.activeMappingsBySkuCode.load(skuCode);
    return mappings.filter((mapping) => canSeeChannel(ctx.caller, mapping.channelCode));
  }

  map(ctx: RequestContext, channelCode: string, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<SkuMappingRecord>> {
    assertChannelAccess(ctx.caller, channelCode);
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'mapSkus',
      idempotencyKey,
      input,
      arguments: { channel: channelCode },
      schema: skuMappingBatchSchema,
      identity: { keyOf: (item) => item.skuCode, path: ['skuCode'], what: 'SKU code' },
      execute: async (items) => {
        const channelMissing = await this.missingChannel(channelCode);
        if (channelMissing) return channelMissing;
        const plan = mapPlan(ctx, channelCode);
        const [loaded, skus, holders] = await Promise.all([
          loadByKey(this.mappings, plan, items.map(plan.keyOf)),
          this.skus.findByKeys(items.map((item) => item.skuCode)),
          this.mappings.findActiveByExternalIds(channelCode, items.map((item) => item.externalVariantId)),
        ]);
        const knownSkus = new Set(skus.map((sku) => sku.code));
        const holderOf = new Map(holders.map((mapping) => [mapping.externalVariantId, mapping.skuCode]));
        const issues: InputIssue[] = [
          ...duplicatesInBatch(items, (item) => item.externalVariantId, ['externalVariantId'], 'External variant id'),
          ...unknownReferences(items, (item) => item.skuCode, (code) => knownSkus.has(code), ['skuCode'], 'SKU'),
          ...items.flatMap((item, index) => {
            const holder = holderOf.get(item.externalVariantId);
            return holder !== undefined && holder !== item.skuCode
              ? [{ index, path: ['externalVariantId'], code: 'CONFLICT' as const, message: `External variant id "${item.externalVariantId}" is already mapped to SKU "${holder}" in channel "${channelCode}"; unmap it first.` }]
              : [];
          }),
        ];
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.mappings, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }

  unmap(ctx: RequestContext, channelCode: string, skuCodes: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<SkuMappingRecord>> {
    assertChannelAccess(ctx.caller, channelCode);
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'unmapSkus',
      idempotencyKey,
      input: skuCodes,
      argument: 'skuCodes',
      arguments: { channel: channelCode },
      schema: codeBatchSchema,
      identity: { keyOf: (code) => code, path: [], what: 'SKU code' },
      execute: async (items) => {
        const channelMissing = await this.missingChannel(channelCode);
        if (channelMissing) return channelMissing;
        const plan = unmapPlan(ctx, channelCode);
        const loaded = await loadByKey(this.mappings, plan, items.map(plan.keyOf));
        const issues = items.flatMap((code, index) =>
          loaded.has(plan.keyOf(code)) ? [] : [{ index, path: [], code: 'UNKNOWN_REFERENCE' as const, message: `SKU "${code}" has no mapping in channel "${channelCode}".` }],
        );
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.mappings, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }

  private async missingChannel(channelCode: string): Promise<InvalidInputResult | null> {
    if (await this.channels.findByKey(channelCode)) return null;
    return invalidInput([{ index: null, path: ['channel'], code: 'UNKNOWN_REFERENCE', message: `Channel "${channelCode}" does not exist.` }]);
  }
}
