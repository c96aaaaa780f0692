import { describe, expect, it } from 'vitest';
import { DEMO_EXAMPLE_SKU, generateDemoCatalog } from '../../src/demo/demo-data.js';
import { validateBatch } from '../../src/domain/common/validation.js';
import { skuBatchSchema } from '../../src/domain/catalog/catalog.validation.js';

describe('demo catalog', () => {
  const catalog = generateDemoCatalog();

  it('is the same on every run', () => {
    expect(generateDemoCatalog()).toEqual(catalog);
  });

  it('has the advertised size and an active example SKU', () => {
    expect(catalog.products).toHaveLength(300);
    expect(catalog.skus.length).toBeGreaterThan(1_900);
    expect(catalog.skus.length).toBeLessThan(2_500);
    expect(catalog.locations).toHaveLength(12);
    expect(catalog.channels.map((channel) => channel.code)).toEqual(['WEB-EU', 'POS-EU', 'MKT-US']);
    expect(catalog.skus.find((sku) => sku.code === DEMO_EXAMPLE_SKU)?.status).toBe('ACTIVE');
  });

  it('passes the same validation as API input', () => {
    for (let i = 0; i < catalog.skus.length; i += 500) expect(validateBatch(skuBatchSchema, catalog.skus.slice(i, i + 500)).ok).toBe(true);
  });
});
