import type { ChangeDraftValue, ChangeEntity, OutboxEntryValue } from '../domain/changes/change-event.js';
import { OUTBOX_COLLECTIONS } from './outbox.js';
import type { OutboxDocumentValue } from './repositories/change-log.repository.js';

/**
 * Turns a document's pending outbox entries (oldest first) into change events. Runs in the relay, on the
 * document as read together with its entries (one read, so state and entries are consistent).
 */
export type ChangeFinalizer = (document: OutboxDocumentValue, entries: readonly OutboxEntryValue[]) => ChangeDraftValue[];

export interface OutboxSource {
  readonly entity: ChangeEntity;
  readonly collection: string;
  readonly finalize: ChangeFinalizer;
}

function string(document: OutboxDocumentValue, field: string): string | null {
  const value = document[field];
  return typeof value === 'string' ? value : null;
}

function number(document: OutboxDocumentValue, field: string): number {
  const value = document[field];
  return typeof value === 'number' ? value : 0;
}

function draft(entity: ChangeEntity, document: OutboxDocumentValue, entry: OutboxEntryValue, fields: Pick<ChangeDraftValue, 'version' | 'sku' | 'location' | 'channels' | 'data'>): ChangeDraftValue {
  return { eventId: entry.id, entity, key: document._id, at: entry.at, origin: entry.origin, ...fields, ...(entry.operationId === undefined ? {} : { operationId: entry.operationId }) };
}

/** Writers of versioned aggregates know the version they wrote: the entry carries it. */
function versioned(entity: ChangeEntity, scope: (document: OutboxDocumentValue, entry: OutboxEntryValue) => Pick<ChangeDraftValue, 'sku' | 'location' | 'channels'>): ChangeFinalizer {
  return (document, entries) => entries.map((entry) => draft(entity, document, entry, { version: entry.version ?? number(document, 'version'), data: { ...entry.data }, ...scope(document, entry) }));
}

const shared = { sku: null, location: null, channels: null } as const;

/**
 * Inventory positions also change by `$inc` (reservation holds), so their entries carry deltas. Every write to a
 * position bumps its version by one and pushes exactly one entry, and entries leave the outbox only oldest
 * first, so walking back from the document's current state over its pending entries gives each entry's state
 * and version exactly.
 */
const inventoryPositions: ChangeFinalizer = (document, entries) => {
  let state = { onHand: number(document, 'onHand'), reserved: number(document, 'reserved'), safetyStock: number(document, 'safetyStock') };
  let version = number(document, 'version');
  const sku = string(document, 'skuCode');
  const location = string(document, 'locationCode');
  const drafts: ChangeDraftValue[] = [];
  for (let index = entries.length - 1; index >= 0; index--) {
    const entry = entries[index]!;
    const delta = { onHand: entry.delta?.['onHand'] ?? 0, reserved: entry.delta?.['reserved'] ?? 0, safetyStock: entry.delta?.['safetyStock'] ?? 0 };
    const changed = delta.onHand !== 0 || delta.reserved !== 0 || delta.safetyStock !== 0;
    drafts.push(
      draft('InventoryPosition', document, entry, {
        version,
        sku,
        location,
        channels: null,
        data: { ...state, available: state.onHand - state.reserved - state.safetyStock, delta, changed, flags: entry.data?.['flags'] ?? [] },
      }),
    );
    state = { onHand: state.onHand - delta.onHand, reserved: state.reserved - delta.reserved, safetyStock: state.safetyStock - delta.safetyStock };
    version -= 1;
  }
  return drafts.reverse();
};

/** Every collection whose documents carry an outbox, with how its entries become events. */
/**
 * Every logged reservation transition bumps the version by one and pushes one entry (entries leave oldest first),
 * so counting back from the document's version gives each entry's. Lines do not change once a reservation is
 * ACTIVE, the only state logged before them.
 */
const reservations: ChangeFinalizer = (document, entries) => {
  const version = number(document, 'version');
  const lines = Array.isArray(document['lines']) ? (document['lines'] as { skuCode: string; quantity: number }[]).map((line) => ({ sku: line.skuCode, quantity: line.quantity })) : [];
  const channel = string(document, 'channelCode');
  return entries.map((entry, index) =>
    draft('Reservation', document, entry, {
      version: version - (entries.length - 1 - index),
      sku: null,
      location: null,
      channels: channel ? [channel] : null,
      data: { ...entry.data, channel, orderRef: string(document, 'orderRef'), expiresAt: document['expiresAt'] instanceof Date ? document['expiresAt'] : null, lines },
    }),
  );
};

export const OUTBOX_SOURCES: readonly OutboxSource[] = [
  { entity: 'Product', collection: OUTBOX_COLLECTIONS.Product, finalize: versioned('Product', () => shared) },
  { entity: 'Sku', collection: OUTBOX_COLLECTIONS.Sku, finalize: versioned('Sku', (document) => ({ ...shared, sku: document._id })) },
  { entity: 'Location', collection: OUTBOX_COLLECTIONS.Location, finalize: versioned('Location', (document) => ({ ...shared, location: document._id })) },
  { entity: 'Channel', collection: OUTBOX_COLLECTIONS.Channel, finalize: versioned('Channel', (document) => ({ ...shared, channels: [document._id] })) },
  { entity: 'SkuMapping', collection: OUTBOX_COLLECTIONS.SkuMapping, finalize: versioned('SkuMapping', (document) => ({ ...shared, sku: string(document, 'skuCode'), channels: [string(document, 'channelCode') ?? ''] })) },
  { entity: 'PriceList', collection: OUTBOX_COLLECTIONS.PriceList, finalize: versioned('PriceList', (document) => ({ ...shared, channels: string(document, 'channelCode') ? [string(document, 'channelCode')!] : null })) },
  {
    entity: 'Price',
    collection: OUTBOX_COLLECTIONS.Price,
    finalize: versioned('Price', (document, entry) => ({ ...shared, sku: string(document, 'sku'), channels: (entry.data?.['channels'] as string[] | null | undefined) ?? null })),
  },
  { entity: 'InventoryPosition', collection: OUTBOX_COLLECTIONS.InventoryPosition, finalize: inventoryPositions },
  { entity: 'Reservation', collection: OUTBOX_COLLECTIONS.Reservation, finalize: reservations },
  {
    entity: 'ChannelAvailability',
    collection: OUTBOX_COLLECTIONS.ChannelAvailability,
    finalize: versioned('ChannelAvailability', (document) => ({ ...shared, sku: string(document, 'skuCode'), channels: [string(document, 'channelCode') ?? ''] })),
  },
];
