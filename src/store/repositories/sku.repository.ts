import type { Connection } from 'mongoose';
import type { SkuFilter, SkuRecord } from '../../domain/catalog/catalog.types.js';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import { skuSchema, type SkuDocument } from '../models/sku.model.js';
import { afterKeyQuery, catalogFilterQuery } from './catalog-filter.js';
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
  constructor(connection: Connection) {
    super(connection.model<StoredSku>('Sku', skuSchema), mapper);
  }

  async list(filter: SkuFilter | null | undefined, page: PageRequest): Promise<Page<SkuRecord>> {
    const query = catalogFilterQuery(filter);
    const documents = await this.model.find(afterKeyQuery(query, page.afterKey)).sort({ _id: 1 }).limit(page.first + 1).lean<StoredSku[]>().exec();
    return pageOf(documents.map(mapper.toRecord), page, mapper.keyOf, () => this.model.countDocuments(query).exec());
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
