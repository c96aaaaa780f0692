import type { OutboxSignal } from '../outbox.js';
import type { Connection } from 'mongoose';
import type { SkuFilter, SkuRecord } from '../../domain/catalog/catalog.types.js';
import type { Page, PageRequest } from '../../domain/common/pagination.js';
import { skuSchema, type SkuDocument } from '../models/sku.model.js';
import { catalogFilterQuery } from './catalog-filter.js';
import { VersionedRepository, type DocumentMapper } from './versioned.repository.js';

type StoredSku = SkuDocument & { _id: string };

const mapper: DocumentMapper<SkuRecord, StoredSku> = {
  keyOf: (record) => record.code,
  toRecord: ({ _id, ...document }) => ({
    code: _id,
    productCode: document.productCode,
    title: document.title,
    attributes: document.attributes.map(({ key, value }) => ({ key, value })),
    taxClass: document.taxClass ?? null,
    barcodes: [...document.barcodes],
    status: document.status,
    archivedAt: document.archivedAt ?? null,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  }),
  toDocument: ({ code, ...record }) => ({ _id: code, ...record, attributes: [...record.attributes], barcodes: [...record.barcodes] }) as StoredSku,
};

export class SkuRepository extends VersionedRepository<SkuRecord, StoredSku> {
  constructor(connection: Connection, signal: OutboxSignal) {
    super(connection.model<StoredSku>('Sku', skuSchema), mapper, signal);
  }

  async list(filter: SkuFilter | null | undefined, page: PageRequest): Promise<Page<SkuRecord>> {
    return this.page(catalogFilterQuery(filter), page);
  }

  /** SKU codes after `after` in code order, archived ones included (a walk over the whole catalog). */
  async codesAfter(after: string, limit: number): Promise<string[]> {
    const documents = await this.model.find({ _id: { $gt: after } }, { _id: 1 }).sort({ _id: 1 }).limit(limit).lean<{ _id: string }[]>().exec();
    return documents.map((document) => document._id);
  }

  /** Unarchived SKUs of each product, for the product.skus loader; one query for all products. */
  async findByProductCodes(productCodes: readonly string[]): Promise<SkuRecord[]> {
    const documents = await this.model
      .find({ productCode: { $in: [...productCodes] }, archivedAt: null })
      .sort({ _id: 1 })
      .lean<StoredSku[]>()
      .exec();
    return documents.map(mapper.toRecord);
  }
}
