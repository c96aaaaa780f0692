import type { OutboxSignal } from '../outbox.js';
import type { Connection } from 'mongoose';
import type { CatalogFilter, ProductRecord } from '../../domain/catalog/catalog.types.js';
import type { Page, PageRequest } from '../../domain/common/pagination.js';
import { productSchema, type ProductDocument } from '../models/product.model.js';
import { catalogFilterQuery } from './catalog-filter.js';
import { VersionedRepository, type DocumentMapper } from './versioned.repository.js';

type StoredProduct = ProductDocument & { _id: string };

const mapper: DocumentMapper<ProductRecord, StoredProduct> = {
  keyOf: (record) => record.code,
  toRecord: ({ _id, ...document }) => ({
    code: _id,
    title: document.title,
    attributes: document.attributes.map(({ key, value }) => ({ key, value })),
    taxClass: document.taxClass ?? null,
    status: document.status,
    archivedAt: document.archivedAt ?? null,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  }),
  toDocument: ({ code, ...record }) => ({ _id: code, ...record, attributes: [...record.attributes] }) as StoredProduct,
};

export class ProductRepository extends VersionedRepository<ProductRecord, StoredProduct> {
  constructor(connection: Connection, signal: OutboxSignal) {
    super(connection.model<StoredProduct>('Product', productSchema), mapper, signal);
  }

  async list(filter: CatalogFilter | null | undefined, page: PageRequest): Promise<Page<ProductRecord>> {
    return this.page(catalogFilterQuery(filter), page);
  }
}
