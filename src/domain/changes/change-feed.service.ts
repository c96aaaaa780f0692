import { streamKey, type ChangeStream, type SubscriptionHub } from '../../events/subscription-hub.js';
import type { ChangeLogRepository } from '../../store/repositories/change-log.repository.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import { assertChannelAccess, canSeeChannel } from '../access/channel-access.js';
import type { Caller } from '../access/access.types.js';
import { DomainError } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import type { ChangeEntity, ChangeEventValue, ChangePageValue } from './change-event.js';

export type ChangeKindValue = 'INVENTORY' | 'AVAILABILITY' | 'PRICE' | 'CATALOG' | 'RESERVATION';

const CATALOG_ENTITIES: ReadonlySet<ChangeEntity> = new Set(['Product', 'Sku', 'Location', 'Channel', 'SkuMapping', 'PriceList']);
const KIND_OF: Record<ChangeEntity, ChangeKindValue> = {
  Product: 'CATALOG',
  Sku: 'CATALOG',
  Location: 'CATALOG',
  Channel: 'CATALOG',
  SkuMapping: 'CATALOG',
  PriceList: 'CATALOG',
  Price: 'PRICE',
  InventoryPosition: 'INVENTORY',
  ChannelAvailability: 'AVAILABILITY',
  Reservation: 'RESERVATION',
};

/** `changes` returns at most this many changes per page, and reads at most this many log entries per call. */
export const MAX_CHANGES_PAGE = 500;
export const MAX_CHANGES_SCANNED = 5_000;

export function kindOf(event: ChangeEventValue): ChangeKindValue {
  return KIND_OF[event.entity];
}

/** A change concerns `channel` when it is unscoped (shared catalog, unscoped price lists) or scoped to it. */
function visibleTo(event: ChangeEventValue, channel: string): boolean {
  return event.channels === null || event.channels.includes(channel);
}

function visibleToCaller(event: ChangeEventValue, caller: Caller): boolean {
  return event.channels === null || event.channels.some((channel) => canSeeChannel(caller, channel));
}

/** The hub offers a stream only the events under these keys: its SKUs' events, or all of the entity's. */
function keysFor(entity: ChangeEntity, skus: ReadonlySet<string> | null): string[] {
  return skus ? [...skus].map((sku) => streamKey(entity, sku)) : [streamKey(entity, null)];
}

/** SKUs or locations one subscription or query may name: every subscription holds its filter in memory. */
export const MAX_FILTER_VALUES = 500;

function optionalSet(values: readonly string[] | null | undefined, argument: string): ReadonlySet<string> | null {
  if (values && values.length > MAX_FILTER_VALUES) throw new DomainError('BAD_USER_INPUT', `${argument} may name at most ${MAX_FILTER_VALUES} values.`, { argument });
  return values && values.length > 0 ? new Set(values) : null;
}

export interface InventoryStreamArgs {
  readonly channel: string;
  readonly skus?: readonly string[] | null;
  readonly locations?: readonly string[] | null;
  readonly since?: number | null;
}

/**
 * Reads of the change log for subscriptions and the `changes` query. Every stream is built from a filter that
 * applies the caller's channel binding; the channel's locations are read once, when the subscription starts
 * (a subscriber resubscribes, with since, after changing a channel's locations).
 */
export class ChangeFeedService {
  constructor(
    private readonly channels: ChannelRepository,
    private readonly log: ChangeLogRepository,
    private readonly hub: SubscriptionHub | null,
  ) {}

  async inventoryChanged(ctx: RequestContext, args: InventoryStreamArgs): Promise<ChangeStream> {
    const channel = await this.visibleChannel(ctx, args.channel);
    const requested = optionalSet(args.locations, 'locations');
    const locations = new Set(channel.locationCodes.filter((location) => !requested || requested.has(location)));
    const skus = optionalSet(args.skus, 'skus');
    return this.open(args.since, keysFor('InventoryPosition', skus), (event) => event.entity === 'InventoryPosition' && event.data['changed'] === true && locations.has(event.location ?? '') && (!skus || skus.has(event.sku ?? '')));
  }

  async availabilityChanged(ctx: RequestContext, args: { channel: string; skus?: readonly string[] | null; since?: number | null }): Promise<ChangeStream> {
    const channel = await this.visibleChannel(ctx, args.channel);
    const skus = optionalSet(args.skus, 'skus');
    return this.open(args.since, keysFor('ChannelAvailability', skus), (event) => event.entity === 'ChannelAvailability' && visibleTo(event, channel.code) && event.channels !== null && (!skus || skus.has(event.sku ?? '')));
  }

  async priceChanged(ctx: RequestContext, args: { channel: string; since?: number | null }): Promise<ChangeStream> {
    const channel = await this.visibleChannel(ctx, args.channel);
    return this.open(args.since, keysFor('Price', null), (event) => event.entity === 'Price' && visibleTo(event, channel.code));
  }

  async catalogChanged(ctx: RequestContext, args: { since?: number | null }): Promise<ChangeStream> {
    const caller = ctx.caller;
    return this.open(args.since, [...CATALOG_ENTITIES].flatMap((entity) => keysFor(entity, null)), (event) => CATALOG_ENTITIES.has(event.entity) && visibleToCaller(event, caller));
  }

  /**
   * One page of the log after `since`: up to `first` matching changes, reading at most MAX_CHANGES_SCANNED
   * entries; `lastSeq` is where to continue even when nothing matched.
   */
  async changes(ctx: RequestContext, since: number, first: number | null | undefined, filter: { kinds?: readonly ChangeKindValue[] | null; skus?: readonly string[] | null; channel?: string | null } | null | undefined): Promise<ChangePageValue> {
    const limit = first ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CHANGES_PAGE) throw new DomainError('BAD_USER_INPUT', `first must be between 1 and ${MAX_CHANGES_PAGE}.`, { argument: 'first' });
    const mayReadInventory = ctx.caller.scopes.includes('inventory:read');
    const kinds = new Set<ChangeKindValue>(filter?.kinds && filter.kinds.length > 0 ? filter.kinds : ['CATALOG', 'PRICE', ...(mayReadInventory ? (['INVENTORY', 'AVAILABILITY', 'RESERVATION'] as const) : [])]);
    if (!mayReadInventory && (kinds.has('INVENTORY') || kinds.has('AVAILABILITY') || kinds.has('RESERVATION'))) {
      throw new DomainError('FORBIDDEN', `API key "${ctx.caller.name}" lacks the "inventory:read" scope needed for inventory, availability and reservation changes.`, { requiredScope: 'inventory:read' });
    }
    const channel = filter?.channel ? await this.visibleChannel(ctx, filter.channel) : null;
    const skus = optionalSet(filter?.skus, 'skus');
    await this.assertCursorKept(since);
    // Positions carry no channel: a bound key sees those at its channels' locations only, as everywhere else.
    const boundLocations = ctx.caller.channels.length > 0 ? new Set((await this.channels.listAll(true, ctx.caller.channels)).flatMap((c) => c.locationCodes)) : null;
    const matches = (event: ChangeEventValue) =>
      kinds.has(kindOf(event)) &&
      visibleToCaller(event, ctx.caller) &&
      (!boundLocations || event.entity !== 'InventoryPosition' || boundLocations.has(event.location ?? '')) &&
      (!skus || skus.has(event.sku ?? '')) &&
      (!channel || (event.entity === 'InventoryPosition' ? channel.locationCodes.includes(event.location ?? '') : visibleTo(event, channel.code))) &&
      (event.entity !== 'InventoryPosition' || event.data['changed'] === true);
    const changes: ChangeEventValue[] = [];
    let cursor = since;
    let scanned = 0;
    for (;;) {
      const events = await this.log.readAfter(cursor, Math.min(MAX_CHANGES_PAGE, MAX_CHANGES_SCANNED - scanned));
      for (const event of events) {
        cursor = event.seq;
        scanned++;
        if (matches(event)) changes.push(event);
        if (changes.length === limit) break;
      }
      if (changes.length === limit || events.length === 0 || scanned >= MAX_CHANGES_SCANNED) break;
    }
    const hasMore = (await this.log.readAfter(cursor, 1)).length > 0;
    return { changes, lastSeq: cursor, hasMore };
  }

  /** The last seq logged now (a starting point read before the state it goes with). */
  head(): Promise<number> {
    return this.log.headSeq();
  }

  private async open(since: number | null | undefined, keys: readonly string[], matches: (event: ChangeEventValue) => boolean): Promise<ChangeStream> {
    if (!this.hub) throw new DomainError('SERVICE_UNAVAILABLE', 'Subscriptions are not served by this process.');
    if (since !== null && since !== undefined) await this.assertCursorKept(since);
    return this.hub.open({ matches, keys, since: since ?? null });
  }

  private async assertCursorKept(since: number): Promise<void> {
    if (!Number.isSafeInteger(since) || since < 0) throw new DomainError('BAD_USER_INPUT', 'since must be a non-negative integer seq.', { argument: 'since' });
    const purgedThrough = await this.log.retentionWatermark();
    if (since < purgedThrough) {
      throw new DomainError('CURSOR_EXPIRED', `Changes after seq ${since} are no longer kept (the log starts after ${purgedThrough}): re-read the current state, then continue from a fresh seq.`, {
        since,
        oldestAvailableSince: purgedThrough,
      });
    }
  }

  private async visibleChannel(ctx: RequestContext, code: string) {
    assertChannelAccess(ctx.caller, code);
    const channel = await this.channels.findByKey(code);
    if (!channel) throw new DomainError('NOT_FOUND', `Channel "${code}" does not exist.`, { argument: 'channel' });
    return channel;
  }
}
