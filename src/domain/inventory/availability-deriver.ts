import pMap from 'p-map';
import type { ChangeDeriver } from '../../events/change-relay.js';
import type { ChannelAvailabilityRepository } from '../../store/repositories/channel-availability.repository.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { InventoryPositionRepository } from '../../store/repositories/inventory-position.repository.js';
import type { ChannelRecord } from '../channel/channel.types.js';
import { outboxEntry, type ChangeDraftValue } from '../changes/change-event.js';
import { availabilityOf } from './availability.js';
import { positionKey } from './inventory.types.js';

/** Availability writes in flight at once: each is its own single-document compare-and-set. */
const WRITE_CONCURRENCY = 8;
/** A value written by a concurrent derivation is re-read and compared again this many times. */
const MAX_RACE_RETRIES = 5;

/**
 * Derives each channel's available-to-sell from logged position changes and records it, with its own change
 * event, only when the number changed: that is what availabilityChanged sends. It runs in the relay, once per
 * batch for the whole deployment (not once per subscriber or replica), and reads the positions as they are
 * now, so a burst of changes to one SKU yields one event with the final number.
 *
 * Channel changes (locations, buffer) are picked up on the next position change of each SKU.
 */
export class AvailabilityDeriver implements ChangeDeriver {
  private channels: Promise<readonly ChannelRecord[]> | null = null;

  constructor(
    private readonly positions: InventoryPositionRepository,
    private readonly channelRepository: ChannelRepository,
    private readonly availability: ChannelAvailabilityRepository,
  ) {}

  async derive(events: readonly ChangeDraftValue[]): Promise<void> {
    if (events.some((event) => event.entity === 'Channel')) this.channels = null;
    const changed = events.filter((event) => event.entity === 'InventoryPosition' && event.data['changed'] === true && event.sku && event.location);
    if (changed.length === 0) return;
    const channels = await (this.channels ??= this.channelRepository.listAll(false, null));
    // The last change of each SKU names the origin of the derived value.
    const lastBySku = new Map<string, ChangeDraftValue>();
    const locationsBySku = new Map<string, Set<string>>();
    for (const event of changed) {
      lastBySku.set(event.sku!, event);
      locationsBySku.set(event.sku!, (locationsBySku.get(event.sku!) ?? new Set()).add(event.location!));
    }
    const pairs = [...locationsBySku].flatMap(([sku, locations]) => channels.filter((channel) => channel.locationCodes.some((location) => locations.has(location))).map((channel) => ({ sku, channel })));
    for (let round = 0; round <= MAX_RACE_RETRIES && pairs.length > 0; round++) {
      const lost = await this.write(pairs, lastBySku);
      pairs.splice(0, pairs.length, ...lost);
    }
  }

  /** Writes the pairs whose value changed; resolves those whose write lost a race. */
  private async write(pairs: readonly { sku: string; channel: ChannelRecord }[], lastBySku: ReadonlyMap<string, ChangeDraftValue>): Promise<{ sku: string; channel: ChannelRecord }[]> {
    const positionKeys = new Set(pairs.flatMap(({ sku, channel }) => channel.locationCodes.map((location) => positionKey(sku, location))));
    const [positions, stored] = await Promise.all([this.positions.findByKeys([...positionKeys]), this.availability.findByKeys(pairs.map(({ sku, channel }) => availabilityKey(channel.code, sku)))]);
    const positionsByKey = new Map(positions.map((position) => [position.key, position]));
    const storedByKey = new Map(stored.map((record) => [record.key, record]));
    const now = new Date();
    const outcomes = await pMap(
      pairs,
      async (pair) => {
        const key = availabilityKey(pair.channel.code, pair.sku);
        const { availableToSell } = availabilityOf(pair.sku, pair.channel, positionsByKey, false);
        const previous = storedByKey.get(key) ?? null;
        if (previous && previous.availableToSell === availableToSell) return null;
        const source = lastBySku.get(pair.sku)!;
        const version = (previous?.version ?? 0) + 1;
        const entry = outboxEntry(source.origin, now, { version, data: { channel: pair.channel.code, sku: pair.sku, availableToSell, previous: previous?.availableToSell ?? null } });
        const written = await this.availability.write({ key, channelCode: pair.channel.code, skuCode: pair.sku, availableToSell, updatedAt: now }, previous?.version ?? null, entry);
        return written ? null : pair;
      },
      { concurrency: WRITE_CONCURRENCY },
    );
    return outcomes.filter((pair) => pair !== null);
  }
}

export function availabilityKey(channelCode: string, skuCode: string): string {
  return `${channelCode}:${skuCode}`;
}
