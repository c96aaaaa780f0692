import { originOf } from '../changes/change-event.js';
import { assertUnboundKey } from '../access/channel-access.js';
import type { ProductRepository } from '../../store/repositories/product.repository.js';
import type { BatchOutcome } from '../common/batch.js';
import { batchResult } from '../common/batch.js';
import { requiredOnCreate, runBatchMutation } from '../common/batch-mutation.js';
import { invalidInput } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import { pageRequest, type Page } from '../common/pagination.js';
import type { RequestContext } from '../common/request-context.js';
import { applyUpserts, loadByKey, type UpsertPlan } from '../common/versioned-upsert.js';
import type { CatalogFilter, ProductRecord } from './catalog.types.js';
import { productBatchSchema, type ProductItem } from './catalog.validation.js';

const plan: UpsertPlan<ProductRecord, ProductItem> = {
  keyOf: (item) => item.code,
  keyOfRecord: (record) => record.code,
  build: (current, item) => ({
    code: item.code,
    title: item.title ?? current?.title ?? '',
    attributes: item.attributes ?? current?.attributes ?? [],
    taxClass: item.taxClass === undefined ? (current?.taxClass ?? null) : item.taxClass,
    status: item.status ?? current?.status ?? 'ACTIVE',
    // An upsert is the ERP saying the product exists: it restores an archived one.
    archivedAt: null,
  }),
};

export class ProductService {
  constructor(
    private readonly products: ProductRepository,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** Null when there is no such product; archived products are returned (they are kept, not deleted). */
  get(ctx: RequestContext, code: string): Promise<ProductRecord | null> {
    return ctx.loaders.productByCode.load(code);
  }

  list(ctx: RequestContext, filter: CatalogFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Page<ProductRecord>> {
    return this.products.list(filter, pageRequest(first, after));
  }

  upsert(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<ProductRecord>> {
    assertUnboundKey(ctx.caller, 'change products');
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'upsertProducts',
      idempotencyKey,
      input,
      schema: productBatchSchema,
      identity: { keyOf: (item) => item.code, path: ['code'], what: 'Product code' },
      execute: async (items) => {
        const loaded = await loadByKey(this.products, plan, items.map((item) => item.code));
        const issues = requiredOnCreate(items, (item) => !loaded.has(item.code), ['title']);
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.products, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }
}
