import { LRUCache } from 'lru-cache';
import type { LocationRepository } from '../../../store/repositories/location.repository.js';
import type { SkuRepository } from '../../../store/repositories/sku.repository.js';

/** SKU codes remembered between chunks: files sorted by SKU look up each SKU once, memory stays bounded. */
const SKU_CACHE_ENTRIES = 100_000;
/** Stores and warehouses are few; the bound is against a file of made-up location codes. */
const LOCATION_CACHE_ENTRIES = 10_000;

/**
 * Which codes of a chunk name no SKU or location: one `$in` read per chunk for codes not seen before. Archived
 * SKUs exist (they may still have stock to count), as for adjustments.
 */
export class ReferenceChecker {
  private readonly skuKnown = new LRUCache<string, boolean>({ max: SKU_CACHE_ENTRIES });
  private readonly locationKnown = new LRUCache<string, boolean>({ max: LOCATION_CACHE_ENTRIES });

  constructor(
    private readonly skus: SkuRepository,
    private readonly locations: LocationRepository,
  ) {}

  async unknownCodes(rows: readonly { readonly skuCode: string; readonly locationCode: string }[]): Promise<{ skus: ReadonlySet<string>; locations: ReadonlySet<string> }> {
    const newSkus = [...new Set(rows.map((row) => row.skuCode))].filter((code) => !this.skuKnown.has(code));
    const newLocations = [...new Set(rows.map((row) => row.locationCode))].filter((code) => !this.locationKnown.has(code));
    const [foundSkus, foundLocations] = await Promise.all([this.skus.findByKeys(newSkus), this.locations.findByKeys(newLocations)]);
    const skuSet = new Set(foundSkus.map((sku) => sku.code));
    const locationSet = new Set(foundLocations.map((location) => location.code));
    for (const code of newSkus) this.skuKnown.set(code, skuSet.has(code));
    for (const code of newLocations) this.locationKnown.set(code, locationSet.has(code));
    return {
      skus: new Set(rows.map((row) => row.skuCode).filter((code) => this.skuKnown.get(code) === false)),
      locations: new Set(rows.map((row) => row.locationCode).filter((code) => this.locationKnown.get(code) === false)),
    };
  }
}
