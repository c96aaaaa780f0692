import type { CatalogStatus } from '../domain/catalog/catalog.types.js';

/**
 * A deterministic demo catalog: the same seed gives the same data on every machine, so README examples and
 * tests can name real codes. About 300 products, 2,000 SKUs, 12 locations, 3 channels with mappings.
 */
export interface DemoCatalog {
  readonly locations: readonly { code: string; name: string; kind: 'STORE' | 'WAREHOUSE' | 'DISTRIBUTION_CENTER' | 'ONLINE'; region: string; timezone: string }[];
  readonly channels: readonly { code: string; name: string; kind: 'WEB_STOREFRONT' | 'POS' | 'MARKETPLACE'; currency: string; region: string; locationCodes: string[] }[];
  readonly products: readonly { code: string; title: string; attributes: { key: string; value: string }[]; taxClass: string; status: CatalogStatus }[];
  readonly skus: readonly { code: string; productCode: string; title: string; attributes: { key: string; value: string }[]; barcodes: string[]; status: CatalogStatus }[];
  readonly mappings: readonly { channel: string; items: { skuCode: string; externalVariantId: string; externalProductId?: string; externalInventoryItemId?: string }[] }[];
}

export const DEMO_CHANNELS = ['WEB-EU', 'POS-EU', 'MKT-US'] as const;

/** A SKU that exists in the demo catalog, for the start banner and docs. */
export const DEMO_EXAMPLE_SKU = 'P-0001-GRN-M';

const LOCATIONS: DemoCatalog['locations'] = [
  { code: 'DC-EU-1', name: 'Kassel distribution centre', kind: 'DISTRIBUTION_CENTER', region: 'EU', timezone: 'Europe/Berlin' },
  { code: 'WH-EU-2', name: 'Rotterdam warehouse', kind: 'WAREHOUSE', region: 'EU', timezone: 'Europe/Amsterdam' },
  { code: 'ONLINE-EU', name: 'EU web fulfilment', kind: 'ONLINE', region: 'EU', timezone: 'Europe/Berlin' },
  { code: 'ST-BER-01', name: 'Berlin Mitte', kind: 'STORE', region: 'EU', timezone: 'Europe/Berlin' },
  { code: 'ST-MUC-02', name: 'Munich Marienplatz', kind: 'STORE', region: 'EU', timezone: 'Europe/Berlin' },
  { code: 'ST-HAM-03', name: 'Hamburg Jungfernstieg', kind: 'STORE', region: 'EU', timezone: 'Europe/Berlin' },
  { code: 'ST-PAR-01', name: 'Paris Marais', kind: 'STORE', region: 'EU', timezone: 'Europe/Paris' },
  { code: 'ST-LON-01', name: 'London Soho', kind: 'STORE', region: 'UK', timezone: 'Europe/London' },
  { code: 'DC-US-1', name: 'Memphis distribution centre', kind: 'DISTRIBUTION_CENTER', region: 'US', timezone: 'America/Chicago' },
  { code: 'WH-US-2', name: 'Reno warehouse', kind: 'WAREHOUSE', region: 'US', timezone: 'America/Los_Angeles' },
  { code: 'ST-NYC-01', name: 'New York SoHo', kind: 'STORE', region: 'US', timezone: 'America/New_York' },
  { code: 'ST-SFO-01', name: 'San Francisco Union Square', kind: 'STORE', region: 'US', timezone: 'America/Los_Angeles' },
];

const CHANNELS: DemoCatalog['channels'] = [
  { code: 'WEB-EU', name: 'EU web shop', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['DC-EU-1', 'WH-EU-2', 'ONLINE-EU'] },
  { code: 'POS-EU', name: 'EU stores', kind: 'POS', currency: 'EUR', region: 'EU', locationCodes: ['ST-BER-01', 'ST-MUC-02', 'ST-HAM-03', 'ST-PAR-01'] },
  { code: 'MKT-US', name: 'US marketplace', kind: 'MARKETPLACE', currency: 'USD', region: 'US', locationCodes: ['DC-US-1', 'WH-US-2'] },
];

const CATEGORIES = ['T-Shirt', 'Hoodie', 'Sneaker', 'Jacket', 'Jeans', 'Cap', 'Dress', 'Shorts', 'Sweater', 'Boot'];
const STYLES = ['Classic', 'Urban', 'Trail', 'Studio', 'Coastal', 'Alpine', 'Metro', 'Heritage', 'Sport', 'Essential'];
const BRANDS = ['Northwind', 'Fabrikam', 'Contoso', 'Tailspin', 'Wingtip'];
const MATERIALS = ['cotton', 'wool', 'polyester', 'denim', 'leather', 'linen'];
const COLORS = ['BLK', 'WHT', 'NAV', 'RED', 'GRN', 'GRY', 'BEI'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL', 'XXL'];
/** 3–5 sizes in 1–2 colours per product: about 2,000 SKUs for 300 products. */
const MIN_SIZES = 3;
const MAX_EXTRA_SIZES = 2;
const PRODUCT_COUNT = 300;

/** mulberry32: a tiny seeded PRNG; Math.random cannot be seeded. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A GTIN-13 in the demo's private prefix range, with its GS1 check digit. */
function gtin13(sequence: number): string {
  const body = `200${String(sequence).padStart(9, '0')}`;
  const sum = [...body].reverse().reduce((acc, digit, i) => acc + Number(digit) * (i % 2 === 0 ? 3 : 1), 0);
  return body + String((10 - (sum % 10)) % 10);
}

export function generateDemoCatalog(seed = 20261124): DemoCatalog {
  const random = prng(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const status = (): CatalogStatus => {
    const roll = random();
    return roll < 0.9 ? 'ACTIVE' : roll < 0.95 ? 'DRAFT' : 'DISCONTINUED';
  };

  const products: Array<DemoCatalog['products'][number]> = [];
  const skus: Array<DemoCatalog['skus'][number]> = [];
  for (let p = 1; p <= PRODUCT_COUNT; p++) {
    const code = `P-${String(p).padStart(4, '0')}`;
    const category = pick(CATEGORIES);
    const brand = pick(BRANDS);
    const title = `${brand} ${pick(STYLES)} ${category}`;
    const material = pick(MATERIALS);
    products.push({ code, title, attributes: [{ key: 'brand', value: brand }, { key: 'category', value: category }, { key: 'material', value: material }], taxClass: category === 'Cap' ? 'REDUCED' : 'STANDARD', status: status() });
    const sizeCount = MIN_SIZES + Math.floor(random() * (MAX_EXTRA_SIZES + 1));
    const sizeStart = Math.floor(random() * (SIZES.length - sizeCount + 1));
    const colors = [...new Set([pick(COLORS), pick(COLORS)])];
    for (const color of colors) {
      for (const size of SIZES.slice(sizeStart, sizeStart + sizeCount)) {
        skus.push({
          code: `${code}-${color}-${size}`,
          productCode: code,
          title: `${title} ${color} ${size}`,
          attributes: [{ key: 'color', value: color }, { key: 'size', value: size }],
          barcodes: [gtin13(skus.length + 1)],
          status: status(),
        });
      }
    }
  }

  const active = skus.filter((sku) => sku.status === 'ACTIVE');
  const mappings: DemoCatalog['mappings'] = [
    {
      channel: 'WEB-EU',
      items: active.map((sku, i) => ({
        skuCode: sku.code,
        externalVariantId: `gid://shopify/ProductVariant/${4_000_000 + i}`,
        externalProductId: `gid://shopify/Product/${7_000_000 + Number(sku.productCode.slice(2))}`,
        externalInventoryItemId: `gid://shopify/InventoryItem/${9_000_000 + i}`,
      })),
    },
    { channel: 'POS-EU', items: active.map((sku) => ({ skuCode: sku.code, externalVariantId: `pos-${sku.code}` })) },
    { channel: 'MKT-US', items: active.filter((_, i) => i % 3 === 0).map((sku, i) => ({ skuCode: sku.code, externalVariantId: `B0${String(10_000_000 + i)}` })) },
  ];
  return { locations: LOCATIONS, channels: CHANNELS, products, skus, mappings };
}
