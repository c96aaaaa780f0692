import type { Attribute } from '../common/attributes.js';

export type CatalogStatus = 'ACTIVE' | 'DRAFT' | 'DISCONTINUED';
export const CATALOG_STATUSES = ['ACTIVE', 'DRAFT', 'DISCONTINUED'] as const satisfies readonly CatalogStatus[];

/** The base (parent) product: groups SKUs and is never sold itself. */
export interface ProductRecord {
  readonly code: string;
  readonly title: string;
  /** Sorted by key. */
  readonly attributes: readonly Attribute[];
  readonly taxClass: string | null;
  readonly status: CatalogStatus;
  /** Set when archived; archived records are kept and hidden from default queries. */
  readonly archivedAt: Date | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A sellable variant. */
export interface SkuRecord {
  readonly code: string;
  readonly productCode: string;
  readonly title: string;
  readonly attributes: readonly Attribute[];
  readonly taxClass: string | null;
  /** GTINs, check digit verified, in the order given. */
  readonly barcodes: readonly string[];
  readonly status: CatalogStatus;
  readonly archivedAt: Date | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface CatalogFilter {
  readonly status?: readonly CatalogStatus[] | null;
  readonly attributes?: readonly Attribute[] | null;
  readonly updatedSince?: Date | null;
  readonly includeArchived?: boolean | null;
}

export interface SkuFilter extends CatalogFilter {
  readonly productCodes?: readonly string[] | null;
}
