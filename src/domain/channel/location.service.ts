import { originOf } from '../changes/change-event.js';
import { assertUnboundKey } from '../access/channel-access.js';
import type { LocationRepository } from '../../store/repositories/location.repository.js';
import { batchResult, type BatchOutcome } from '../common/batch.js';
import { requiredOnCreate, runBatchMutation } from '../common/batch-mutation.js';
import { invalidInput } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import type { RequestContext } from '../common/request-context.js';
import { applyUpserts, loadByKey, type UpsertPlan } from '../common/versioned-upsert.js';
import type { LocationRecord } from './channel.types.js';
import type { LocationDirectory } from './location-directory.js';
import { locationBatchSchema, type LocationItem } from './channel.validation.js';

const plan: UpsertPlan<LocationRecord, LocationItem> = {
  keyOf: (item) => item.code,
  keyOfRecord: (record) => record.code,
  build: (current, item) => ({
    code: item.code,
    name: item.name ?? current?.name ?? '',
    kind: item.kind ?? current?.kind ?? 'STORE',
    region: item.region ?? current?.region ?? '',
    timezone: item.timezone ?? current?.timezone ?? 'UTC',
    negativeStockPolicy: item.negativeStockPolicy ?? current?.negativeStockPolicy ?? 'REJECT',
    archivedAt: null,
  }),
};

export class LocationService {
  constructor(
    private readonly locations: LocationRepository,
    private readonly directory: LocationDirectory,
    private readonly idempotency: IdempotencyService,
  ) {}

  get(ctx: RequestContext, code: string): Promise<LocationRecord | null> {
    return ctx.loaders.locationByCode.load(code);
  }

  list(ctx: RequestContext, includeArchived: boolean | null | undefined): Promise<LocationRecord[]> {
    return this.locations.listAll(includeArchived ?? false);
  }

  async upsert(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<LocationRecord>> {
    assertUnboundKey(ctx.caller, 'change locations');
    try {
      return await this.runUpsert(ctx, input, idempotencyKey);
    } finally {
      // Whatever the outcome (a write may have landed before a failure): this replica's next adjustment reads
      // the locations again; other replicas hear of it through the change feed.
      this.directory.invalidate();
    }
  }

  private runUpsert(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<LocationRecord>> {
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'upsertLocations',
      idempotencyKey,
      input,
      schema: locationBatchSchema,
      identity: { keyOf: (item) => item.code, path: ['code'], what: 'Location code' },
      execute: async (items) => {
        const loaded = await loadByKey(this.locations, plan, items.map((item) => item.code));
        const issues = requiredOnCreate(items, (item) => !loaded.has(item.code), ['name', 'kind', 'region', 'timezone']);
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.locations, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }
}
