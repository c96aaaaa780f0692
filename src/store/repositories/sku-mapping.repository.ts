import type { OutboxSignal } from '../outbox.js';
import type { Connection } from 'mongoose';
import { skuMappingKey, type SkuMappingRecord } from '../../domain/channel/channel.types.js';
import type { Page, PageRequest } from '../../domain/common/pagination.js';
import { skuMappingSchema, type SkuMappingDocument } from '../models/sku-mapping.model.js';
import { VersionedRepository, type DocumentMapper } from './versioned.repository.js';

type StoredSkuMapping = SkuMappingDocument & { _id: string };

/** The stored claim on (channel, external id): the id while active, a per-SKU tombstone once unmapped. */
function externalClaim(record: SkuMappingRecord): string {
  return record.active ? record.externalVariantId : `~${record.skuCode}`;
}

const mapper: DocumentMapper<SkuMappingRecord, StoredSkuMapping> = {
  keyOf: (record) => record.key,
  toRecord: ({ _id, ...document }) => ({
    key: _id,
    channelCode: document.channelCode,
    skuCode: document.skuCode,
    externalVariantId: document.externalVariantId,
    externalProductId: document.externalProductId ?? null,
    externalInventoryItemId: document.externalInventoryItemId ?? null,
    active: document.active,
    history: document.history.map((entry) => ({
      externalVariantId: entry.externalVariantId,
      externalProductId: entry.externalProductId ?? null,
      externalInventoryItemId: entry.externalInventoryItemId ?? null,
      replacedAt: entry.replacedAt,
      replacedBy: entry.replacedBy,
    })),
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  }),
  toDocument: ({ key, ...record }) =>
    ({ _id: key, ...record, externalClaim: externalClaim({ key, ...record }), history: record.history.map((entry) => ({ ...entry })) }) as StoredSkuMapping,
};

export interface SkuMappingQuery {
  readonly skuCodes?: readonly string[] | null;
  readonly externalVariantIds?: readonly string[] | null;
  readonly includeInactive?: boolean | null;
}

export class SkuMappingRepository extends VersionedRepository<SkuMappingRecord, StoredSkuMapping> {
  constructor(connection: Connection, signal: OutboxSignal) {
    super(connection.model<StoredSkuMapping>('SkuMapping', skuMappingSchema), mapper, signal);
  }

  /** Active mappings of a channel that hold any of these external ids, for the uniqueness check. */
  async findActiveByExternalIds(channelCode: string, externalVariantIds: readonly string[]): Promise<SkuMappingRecord[]> {
    const documents = await this.model
      .find({ channelCode, externalClaim: { $in: [...externalVariantIds] } })
      .lean<StoredSkuMapping[]>()
      .exec();
    return documents.map(mapper.toRecord);
  }

  /** Active mappings of each SKU across channels, for the sku.mappings loader. */
  async findActiveBySkuCodes(skuCodes: readonly string[]): Promise<SkuMappingRecord[]> {
    const documents = await this.model
      .find({ skuCode: { $in: [...skuCodes] }, active: true })
      .sort({ _id: 1 })
      .lean<StoredSkuMapping[]>()
      .exec();
    return documents.map(mapper.toRecord);
  }

  async list(channelCode: string, filter: SkuMappingQuery | null | undefined, page: PageRequest): Promise<Page<SkuMappingRecord>> {
    const query: Record<string, unknown> = { channelCode };
    if (!filter?.includeInactive) query['active'] = true;
    if (filter?.skuCodes?.length) query['skuCode'] = { $in: [...filter.skuCodes] };
    if (filter?.externalVariantIds?.length) query['externalVariantId'] = { $in: [...filter.externalVariantIds] };
    const afterId = page.afterKey === null ? null : skuMappingKey(channelCode, page.afterKey);
    // Cursors carry the SKU code only; the channel is an argument of the query.
    return this.page(query, page, afterId, (record) => record.skuCode);
  }
}
