import type { OutboxSignal } from '../outbox.js';
import type { Connection } from 'mongoose';
import type { PriceListRecord } from '../../domain/pricing/pricing.types.js';
import { priceListSchema, type PriceListDocument } from '../models/price-list.model.js';
import { VersionedRepository, type DocumentMapper } from './versioned.repository.js';

type StoredPriceList = PriceListDocument & { _id: string };

const mapper: DocumentMapper<PriceListRecord, StoredPriceList> = {
  keyOf: (record) => record.code,
  toRecord: ({ _id, ...document }) => ({
    code: _id,
    name: document.name,
    currency: document.currency,
    channelCode: document.channelCode ?? null,
    region: document.region ?? null,
    effectiveFrom: document.effectiveFrom ?? null,
    effectiveUntil: document.effectiveUntil ?? null,
    priority: document.priority,
    taxMode: document.taxMode,
    archivedAt: document.archivedAt ?? null,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  }),
  toDocument: ({ code, ...record }) => ({ _id: code, ...record }) as StoredPriceList,
};

export class PriceListRepository extends VersionedRepository<PriceListRecord, StoredPriceList> {
  constructor(connection: Connection, signal: OutboxSignal) {
    super(connection.model<StoredPriceList>('PriceList', priceListSchema), mapper, signal);
  }

  /** Every list ordered by code (a retailer has tens or hundreds, not millions). */
  async listAll(includeArchived: boolean): Promise<PriceListRecord[]> {
    const documents = await this.model.find(includeArchived ? {} : { archivedAt: null }).sort({ _id: 1 }).lean<StoredPriceList[]>().exec();
    return documents.map(mapper.toRecord);
  }
}
