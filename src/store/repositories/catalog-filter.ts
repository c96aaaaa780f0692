import type { CatalogFilter, SkuFilter } from '../../domain/catalog/catalog.types.js';

/**
 * Builds a MongoDB filter from typed, allow-listed fields only: no client JSON ever reaches the store as a
 * filter. Values are already validated (codes, enum members, attribute keys without '$' or '.').
 */
export function catalogFilterQuery(filter: CatalogFilter | SkuFilter | null | undefined): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (!filter?.includeArchived) query['archivedAt'] = null;
  if (filter?.status?.length) query['status'] = { $in: [...filter.status] };
  if (filter && 'productCodes' in filter && filter.productCodes?.length) query['productCode'] = { $in: [...filter.productCodes] };
  if (filter?.updatedSince) query['updatedAt'] = { $gte: filter.updatedSince };
  if (filter?.attributes?.length) {
    query['$and'] = filter.attributes.map(({ key, value }) => ({ attributes: { $elemMatch: { key: String(key), value: String(value) } } }));
  }
  return query;
}
