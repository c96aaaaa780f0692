import pMap from 'p-map';
import type { ChangeDeriver } from '../../events/change-relay.js';
import type { ChannelAvailabilityRepository } from '../../store/repositories/channel-availability.repository.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { InventoryPositionRepository } from '../../store/repositories/inventory-position.repository.js';
import type { SkuRepository } from '../../store/repositories/sku.repository.js';
import type { AvailabilityRederivationRepository } from '../../store/repositories/availability-rederivation.repository.js';
import type { Logger } from 'pino';
import type { ChannelRecord } from '../channel/channel.types.js';
import { outboxEntry, type ChangeDraftValue, type ChangeOriginValue, type OutboxEntryValue } from '../changes/change-event.js';
import { availabilityOf } from './availability.js';
import { positionKey, type ChannelAvailabilityRecord } from './inventory.types.js';

/** First values (inserts) in flight at once; changed values go in one bulk round trip. */
const WRITE_CONCURRENCY = 8;
/** A value written by a concurrent derivation is re-read and compared again this many times. */
const MAX_RACE_RETRIES = 5;

/** SKUs derived per step of a channel walk (one read of their positions, then their writes). */
const WALK_PAGE = 500;

type Pair = { readonly sku: string; readonly channel: ChannelRecord };

/**
 * Derives each channel's available-to-sell from logged position changes and records it, with its own change
 * event, only when the number changed: that is what availabilityChanged sends. It runs in the relay, once per
 * batch for the whole deployment (not once per subscriber or replica), and reads the positions as they are
 * now, so a burst of changes to one SKU yields one event with the final number.
 *
 * A channel change (its locations or buffer) changes the number of every SKU at once: it is recorded as a walk
 * over the catalog (`availability_rederivations`) that the relay works through in pages after logging, so a
 * large catalog neither holds the log up nor is lost when the relay dies half-way (the next relay continues).
 */
export class AvailabilityDeriver implements ChangeDeriver {
  private channels: Promise<readonly ChannelRecord[]> | null = null;
  private walking: Promise<void> | null = null;
  private isLeader: (() => boolean) | null = null;
  private stopped = false;

  constructor(
    private readonly positions: InventoryPositionRepository,
    private readonly channelRepository: ChannelRepository,
    private readonly availability: ChannelAvailabilityRepository,
    private readonly skus: SkuRepository,
    private readonly walks: AvailabilityRederivationRepository,
    private readonly logger: Logger,
  ) {}

  async derive(events: readonly ChangeDraftValue[]): Promise<void> {
    const channelChanges = events.filter((event) => event.entity === 'Channel');
    if (channelChanges.length > 0) {
      this.channels = null;
      const now = new Date();
      for (const event of channelChanges) await this.walks.request(event.key, event.version, event.origin, now);
      if (this.isLeader) this.resume(this.isLeader);
    }
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
    await this.deriveAll(pairs, (sku) => lastBySku.get(sku)!.origin, false);
  }

  /** Works through pending channel walks while this replica relays (called on taking the lease and on each renewal). */
  resume(isLeader: () => boolean): void {
    this.isLeader = isLeader;
    if (this.walking || !isLeader()) return;
    this.stopped = false; // a relay started again after stop()
    this.walking = this.walk(isLeader)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'availability: a channel walk failed; the relay resumes it on its next lease renewal'))
      .finally(() => (this.walking = null));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.walking;
  }

  private async walk(isLeader: () => boolean): Promise<void> {
    while (!this.stopped && isLeader()) {
      const walk = await this.walks.next();
      if (!walk) return;
      // Read afresh: the cached list may predate the change being walked.
      const channel = (await this.channelRepository.listAll(false, [walk.channelCode]))[0];
      const skus = channel ? await this.skus.codesAfter(walk.after, WALK_PAGE) : [];
      if (channel && skus.length > 0) await this.deriveAll(skus.map((sku) => ({ sku, channel })), () => walk.origin, true);
      if (skus.length < WALK_PAGE) await this.walks.complete(walk, new Date());
      else await this.walks.advance(walk, skus[skus.length - 1]!, new Date());
    }
  }

  /**
   * Writes every pair whose number changed, re-reading those that lost a race with a concurrent derivation.
   * `skipUnknownZero`: a walk leaves SKUs the channel never had a number for alone while it is 0.
   */
  private async deriveAll(pairs: readonly Pair[], originOf: (sku: string) => ChangeOriginValue, skipUnknownZero: boolean): Promise<void> {
    let pending = pairs;
    for (let round = 0; round <= MAX_RACE_RETRIES && pending.length > 0; round++) pending = await this.write(pending, originOf, skipUnknownZero);
  }

  /** Writes the pairs whose value changed; resolves those whose write lost a race. */
  private async write(pairs: readonly Pair[], originOf: (sku: string) => ChangeOriginValue, skipUnknownZero: boolean): Promise<Pair[]> {
    const positionKeys = new Set(pairs.flatMap(({ sku, channel }) => channel.locationCodes.map((location) => positionKey(sku, location))));
    const [positions, stored] = await Promise.all([this.positions.findQuantitiesByKeys([...positionKeys]), this.availability.findByKeys(pairs.map(({ sku, channel }) => availabilityKey(channel.code, sku)))]);
    const positionsByKey = new Map(positions.map((position) => [position.key, position]));
    const storedByKey = new Map(stored.map((record) => [record.key, record]));
    const now = new Date();
    const updates: { pair: Pair; write: Parameters<ChannelAvailabilityRepository['updateMany']>[0][number] }[] = [];
    const inserts: { pair: Pair; record: Omit<ChannelAvailabilityRecord, 'version'>; entry: OutboxEntryValue }[] = [];
    for (const pair of pairs) {
      const key = availabilityKey(pair.channel.code, pair.sku);
      const { availableToSell } = availabilityOf(pair.sku, pair.channel, positionsByKey, false);
      const previous = storedByKey.get(key) ?? null;
      if (previous ? previous.availableToSell === availableToSell : skipUnknownZero && availableToSell === 0) continue;
      const entry = outboxEntry(originOf(pair.sku), now, { version: (previous?.version ?? 0) + 1, data: { channel: pair.channel.code, sku: pair.sku, availableToSell, previous: previous?.availableToSell ?? null } });
      const record = { key, channelCode: pair.channel.code, skuCode: pair.sku, availableToSell, updatedAt: now };
      if (previous) updates.push({ pair, write: { record, previous, entry } });
      else inserts.push({ pair, record, entry });
    }
    // Changed values in one round trip; first values (a SKU's first derivation in a channel) one by one.
    const [updated, inserted] = await Promise.all([
      this.availability.updateMany(updates.map(({ write }) => write)),
      pMap(inserts, async ({ pair, record, entry }) => ((await this.availability.insert(record, entry)) ? null : pair), { concurrency: WRITE_CONCURRENCY }),
    ]);
    return [...(updated ? [] : updates.map(({ pair }) => pair)), ...inserted.filter((pair) => pair !== null)];
  }
}

export function availabilityKey(channelCode: string, skuCode: string): string {
  return `${channelCode}:${skuCode}`;
}
