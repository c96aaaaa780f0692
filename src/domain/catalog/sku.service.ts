import { originOf } from '../changes/change-event.js';
import { assertUnboundKey } from '../access/channel-access.js';
import type { ProductRepository } from '../../store/repositories/product.repository.js';
import type { SkuRepository } from '../../store/repositories/sku.repository.js';
import { batchResult, type BatchOutcome } from '../common/batch.js';
import { requiredOnCreate, runBatchMutation, unknownReferences } from '../common/batch-mutation.js';
import { invalidInput } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import { pageRequest, type Page } from '../common/pagination.js';
import type { RequestContext } from '../common/request-context.js';
import { applyUpserts, loadByKey, type UpsertPlan } from '../common/versioned-upsert.js';
import type { ProductRecord, SkuFilter, SkuRecord } from './catalog.types.js';
import { codeBatchSchema, skuBatchSchema, type SkuItem } from './catalog.validation.js';

const upsertPlan: UpsertPlan<SkuRecord, SkuItem> = {
  keyOf: (item) => item.code,
  keyOfRecord: (record) => record.code,
  build: (current, item) => ({
    code: item.code,
    productCode: item.productCode ?? current?.productCode ?? '',
    title: item.title ?? current?.title ?? '',
    attributes: item.attributes ?? current?.attributes ?? [],
    taxClass: item.taxClass === undefined ? (current?.taxClass ?? null) : item.taxClass,
    barcodes: item.barcodes ?? current?.barcodes ?? [],
    status: item.status ?? current?.status ?? 'ACTIVE',
    archivedAt: null,
  }),
};

const archivePlan = (now: Date): UpsertPlan<SkuRecord, string> => ({
  keyOf: (code) => code,
  keyOfRecord: (record) => record.code,
  build: (current) => {
    // execute() rejects unknown codes before any write, so there is always a current record here.
    const { version: _v, createdAt: _c, updatedAt: _u, ...content } = current!;
    return { ...content, archivedAt: current!.archivedAt ?? now };
  },
});

export class SkuService {
  constructor(
    private readonly skus: SkuRepository,
    private readonly products: ProductRepository,
    private readonly idempotency: IdempotencyService,
  ) {}

  get(ctx: RequestContext, code: string): Promise<SkuRecord | null> {
    return ctx.loaders.skuByCode.load(code);
  }

  list(ctx: RequestContext, filter: SkuFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Page<SkuRecord>> {
    return this.skus.list(filter, pageRequest(first, after));
  }

  /** The product's unarchived SKUs, batched across all products of a response. */
  forProduct(ctx: RequestContext, productCode: string): Promise<readonly SkuRecord[]> {
    return ctx.loaders.skusByProductCode.load(productCode);
  }

  upsert(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<SkuRecord>> {
    assertUnboundKey(ctx.caller, 'change SKUs');
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'upsertSkus',
      idempotencyKey,
      input,
      schema: skuBatchSchema,
      identity: { keyOf: (item) => item.code, path: ['code'], what: 'SKU code' },
      execute: async (items) => {
        const [loaded, products] = await Promise.all([
          loadByKey(this.skus, upsertPlan, items.map((item) => item.code)),
          this.products.findByKeys([...new Set(items.flatMap((item) => (item.productCode ? [item.productCode] : [])))]),
        ]);
        const productCodes = new Set(products.map((product: ProductRecord) => product.code));
        const issues = [
          ...requiredOnCreate(items, (item) => !loaded.has(item.code), ['productCode', 'title']),
          ...unknownReferences(items, (item) => item.productCode, (code) => productCodes.has(code), ['productCode'], 'Product'),
        ];
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.skus, upsertPlan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }

  archive(ctx: RequestContext, codes: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<SkuRecord>> {
    assertUnboundKey(ctx.caller, 'archive SKUs');
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'archiveSkus',
      idempotencyKey,
      input: codes,
      argument: 'codes',
      schema: codeBatchSchema,
      identity: { keyOf: (code) => code, path: [], what: 'SKU code' },
      execute: async (items) => {
        const plan = archivePlan(ctx.now);
        const loaded = await loadByKey(this.skus, plan, items);
        const issues = unknownReferences(items, (code) => code, (code) => loaded.has(code), [], 'SKU');
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.skus, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }
}
