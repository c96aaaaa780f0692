import DataLoader from 'dataloader';
import type { ProductRecord, SkuRecord } from '../domain/catalog/catalog.types.js';
import type { LocationRecord, SkuMappingRecord } from '../domain/channel/channel.types.js';
import type { PriceListRecord } from '../domain/pricing/pricing.types.js';
import type { Repositories } from './repositories/index.js';

/**
 * Per-request batch loaders: field resolvers of a page of N items cost one query per field, not N. Batch
 * functions return results in key order, as DataLoader requires.
 */
export interface Loaders {
  readonly productByCode: DataLoader<string, ProductRecord | null>;
  readonly skuByCode: DataLoader<string, SkuRecord | null>;
  readonly skusByProductCode: DataLoader<string, readonly SkuRecord[]>;
  readonly locationByCode: DataLoader<string, LocationRecord | null>;
  readonly activeMappingsBySkuCode: DataLoader<string, readonly SkuMappingRecord[]>;
  readonly priceListByCode: DataLoader<string, PriceListRecord | null>;
}

export function createLoaders(repositories: Repositories): Loaders {
  return {
    productByCode: new DataLoader((codes) => byKey(codes, repositories.products.findByKeys(codes), (p) => p.code)),
    skuByCode: new DataLoader((codes) => byKey(codes, repositories.skus.findByKeys(codes), (s) => s.code)),
    skusByProductCode: new DataLoader((codes) => groupByKey(codes, repositories.skus.findByProductCodes(codes), (s) => s.productCode)),
    locationByCode: new DataLoader((codes) => byKey(codes, repositories.locations.findByKeys(codes), (l) => l.code)),
    activeMappingsBySkuCode: new DataLoader((codes) => groupByKey(codes, repositories.skuMappings.findActiveBySkuCodes(codes), (m) => m.skuCode)),
    priceListByCode: new DataLoader((codes) => byKey(codes, repositories.priceLists.findByKeys(codes), (l) => l.code)),
  };
}

async function byKey<T>(keys: readonly string[], rows: Promise<T[]>, keyOf: (row: T) => string): Promise<(T | null)[]> {
  const found = new Map((await rows).map((row) => [keyOf(row), row]));
  return keys.map((key) => found.get(key) ?? null);
}

async function groupByKey<T>(keys: readonly string[], rows: Promise<T[]>, keyOf: (row: T) => string): Promise<T[][]> {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const row of await rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}
