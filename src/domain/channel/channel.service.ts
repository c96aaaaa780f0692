import { originOf } from '../changes/change-event.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { LocationRepository } from '../../store/repositories/location.repository.js';
import { assertUnboundKey, canSeeChannel } from '../access/channel-access.js';
import { batchResult, type BatchOutcome } from '../common/batch.js';
import { requiredOnCreate, runBatchMutation } from '../common/batch-mutation.js';
import { invalidInput, type InputIssue } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import type { RequestContext } from '../common/request-context.js';
import { applyUpserts, loadByKey, type UpsertPlan } from '../common/versioned-upsert.js';
import type { ChannelRecord, LocationRecord } from './channel.types.js';
import { channelBatchSchema, type ChannelItem } from './channel.validation.js';

const plan: UpsertPlan<ChannelRecord, ChannelItem> = {
  keyOf: (item) => item.code,
  keyOfRecord: (record) => record.code,
  build: (current, item) => ({
    code: item.code,
    name: item.name ?? current?.name ?? '',
    kind: item.kind ?? current?.kind ?? 'WEB_STOREFRONT',
    currency: item.currency ?? current?.currency ?? '',
    region: item.region ?? current?.region ?? '',
    locationCodes: item.locationCodes ? [...new Set(item.locationCodes)] : (current?.locationCodes ?? []),
    inventoryBuffer: item.inventoryBuffer ?? current?.inventoryBuffer ?? 0,
    archivedAt: null,
  }),
};

export class ChannelService {
  constructor(
    private readonly channels: ChannelRepository,
    private readonly locations: LocationRepository,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** Null when the channel does not exist or the caller's key is not bound to it: the two look the same. */
  async get(ctx: RequestContext, code: string): Promise<ChannelRecord | null> {
    if (!canSeeChannel(ctx.caller, code)) return null;
    return this.channels.findByKey(code);
  }

  list(ctx: RequestContext, includeArchived: boolean | null | undefined): Promise<ChannelRecord[]> {
    const bound = ctx.caller.channels.length > 0 ? ctx.caller.channels : null;
    return this.channels.listAll(includeArchived ?? false, bound);
  }

  /** The channel's locations in the channel's order (archived ones included: they may still hold stock). */
  async locationsOf(ctx: RequestContext, channel: ChannelRecord): Promise<LocationRecord[]> {
    const locations = await ctx.loaders.locationByCode.loadMany([...channel.locationCodes]);
    return locations.filter((location): location is LocationRecord => location !== null && !(location instanceof Error));
  }

  upsert(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<BatchOutcome<ChannelRecord>> {
    assertUnboundKey(ctx.caller, 'change channels');
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'upsertChannels',
      idempotencyKey,
      input,
      schema: channelBatchSchema,
      identity: { keyOf: (item) => item.code, path: ['code'], what: 'Channel code' },
      execute: async (items) => {
        const referenced = [...new Set(items.flatMap((item) => item.locationCodes ?? []))];
        const [loaded, locations] = await Promise.all([
          loadByKey(this.channels, plan, items.map((item) => item.code)),
          this.locations.findByKeys(referenced),
        ]);
        const known = new Set(locations.map((location) => location.code));
        const issues: InputIssue[] = [
          ...requiredOnCreate(items, (item) => !loaded.has(item.code), ['name', 'kind', 'currency', 'region']),
          ...items.flatMap((item, index) =>
            (item.locationCodes ?? []).flatMap((code, position) =>
              known.has(code) ? [] : [{ index, path: ['locationCodes', String(position)], code: 'UNKNOWN_REFERENCE' as const, message: `Location "${code}" does not exist.` }],
            ),
          ),
        ];
        if (issues.length > 0) return invalidInput(issues);
        return batchResult(await applyUpserts(this.channels, plan, items, { now: ctx.now, origin: originOf(ctx, { idempotencyKey }), loaded }));
      },
    });
  }
}
