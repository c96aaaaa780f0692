import { mongo } from 'mongoose';

/**
 * What a hand-written driver client does to answer the same GraphQL selections: the floor the gateway's
 * overhead is measured against. Reads are the ones the gateway's loaders issue (sku, then product and
 * mappings in parallel), with the filters its API promises (no archived SKUs, only active mappings, mappings
 * ordered by key), projected to the selected fields.
 */
export interface SkuScalars {
  readonly code: string;
  readonly title: string;
  readonly version: number;
  readonly barcodes: readonly string[];
  readonly productCode: string;
}

export interface MappingView {
  readonly channelCode: string;
  readonly externalVariantId: string;
}

export interface SkuWithRelations extends SkuScalars {
  readonly product: { readonly code: string; readonly title: string } | null;
  readonly mappings: readonly MappingView[];
}

export interface PageNode {
  readonly code: string;
  readonly title: string;
  readonly product: { readonly code: string; readonly title: string } | null;
  readonly mappings: readonly MappingView[];
}

interface SkuDoc {
  _id: string;
  title: string;
  version: number;
  barcodes: string[];
  productCode: string;
  archivedAt?: Date | null;
}
interface ProductDoc {
  _id: string;
  title: string;
}
interface MappingDoc {
  _id: string;
  skuCode: string;
  channelCode: string;
  externalVariantId: string;
  active: boolean;
}

const SKU_FIELDS = { title: 1, version: 1, barcodes: 1, productCode: 1 } as const;
const MAPPING_FIELDS = { skuCode: 1, channelCode: 1, externalVariantId: 1 } as const;

export class RawReads {
  private readonly skus: mongo.Collection<SkuDoc>;
  private readonly products: mongo.Collection<ProductDoc>;
  private readonly mappings: mongo.Collection<MappingDoc>;

  constructor(db: mongo.Db) {
    this.skus = db.collection<SkuDoc>('skus');
    this.products = db.collection<ProductDoc>('products');
    this.mappings = db.collection<MappingDoc>('sku_mappings');
  }

  /** Every unarchived SKU code, the pool both sides rotate over. */
  async skuCodes(): Promise<string[]> {
    const docs = await this.skus.find({ archivedAt: null }, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray();
    return docs.map((doc) => doc._id);
  }

  async skuScalars(code: string): Promise<SkuScalars | null> {
    const doc = await this.skus.findOne({ _id: code }, { projection: SKU_FIELDS });
    return doc && scalarsOf(doc);
  }

  async skuWithRelations(code: string): Promise<SkuWithRelations | null> {
    const doc = await this.skus.findOne({ _id: code }, { projection: SKU_FIELDS });
    if (!doc) return null;
    const [product, mappings] = await Promise.all([
      this.products.findOne({ _id: doc.productCode }, { projection: { title: 1 } }),
      this.mappings.find({ skuCode: code, active: true }, { projection: MAPPING_FIELDS }).sort({ _id: 1 }).toArray(),
    ]);
    return { ...scalarsOf(doc), product: product && { code: product._id, title: product.title }, mappings: mappings.map(mappingView) };
  }

  /** The first page of unarchived SKUs by code, with their products and active mappings: three queries. */
  async firstPage(size: number): Promise<PageNode[]> {
    const skus = await this.skus.find({ archivedAt: null }, { projection: { title: 1, productCode: 1 } }).sort({ _id: 1 }).limit(size).toArray();
    const codes = skus.map((sku) => sku._id);
    const [products, mappings] = await Promise.all([
      this.products.find({ _id: { $in: [...new Set(skus.map((sku) => sku.productCode))] } }, { projection: { title: 1 } }).toArray(),
      this.mappings.find({ skuCode: { $in: codes }, active: true }, { projection: MAPPING_FIELDS }).sort({ _id: 1 }).toArray(),
    ]);
    const productByCode = new Map(products.map((product) => [product._id, { code: product._id, title: product.title }]));
    const mappingsBySku = new Map<string, MappingView[]>(codes.map((code) => [code, []]));
    for (const mapping of mappings) mappingsBySku.get(mapping.skuCode)?.push(mappingView(mapping));
    return skus.map((sku) => ({ code: sku._id, title: sku.title, product: productByCode.get(sku.productCode) ?? null, mappings: mappingsBySku.get(sku._id) ?? [] }));
  }
}

function scalarsOf(doc: SkuDoc): SkuScalars {
  return { code: doc._id, title: doc.title, version: doc.version, barcodes: doc.barcodes, productCode: doc.productCode };
}

function mappingView(doc: MappingDoc): MappingView {
  return { channelCode: doc.channelCode, externalVariantId: doc.externalVariantId };
}
