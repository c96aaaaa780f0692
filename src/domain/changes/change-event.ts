import { hash, randomUUID } from 'node:crypto';
import type { RequestContext } from '../common/request-context.js';

/** What produced a change: who, through what, and why. Carried by every event to every subscriber. */
export interface ChangeOriginValue {
  /** API: a GraphQL mutation; RESET: the daily inventory reset; SWEEPER: reservation expiry and repair. */
  readonly source: 'API' | 'RESET' | 'SWEEPER';
  readonly apiKeyId: string | null;
  readonly apiKey: string | null;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  /** The inventory reason (SALE, RECEIPT, RESERVE, …), when there is one. */
  readonly reason: string | null;
  readonly referenceDocument: string | null;
}

/** The aggregate types whose changes are logged, one per outbox-carrying collection. */
export type ChangeEntity = 'Product' | 'Sku' | 'Location' | 'Channel' | 'SkuMapping' | 'PriceList' | 'Price' | 'InventoryPosition' | 'ChannelAvailability' | 'Reservation';

/**
 * An event as the writer records it in the changed document's outbox, in the same single-document update as
 * the state. It has no sequence number yet: the relay gives one when it moves the event to the change log.
 *
 * Inventory positions change by `$inc` too (reservation holds), where the writer cannot know the resulting
 * values without a read; their outbox entries carry `delta` instead, and the relay derives the version and the
 * absolute values from the document (see position-change-finalizer.ts).
 */
export interface OutboxEntryValue {
  readonly id: string;
  readonly at: Date;
  readonly origin: ChangeOriginValue;
  /** The aggregate's version after this change, when the writer knows it (compare-and-set writes). */
  readonly version?: number;
  /**
   * Whatever the writer knows of the change; the relay's finalizer turns it into the event's data. JSON values
   * only: the outbox stores each entry as JSON (src/store/outbox.ts).
   */
  readonly data?: Readonly<Record<string, unknown>>;
  readonly delta?: Readonly<Record<string, number>>;
  /**
   * The operation that made the change, when a record is kept per operation under that id: the inventory ledger's
   * movement (position writes of adjustInventory, setInventory, commitReservation) or the price history's entry
   * (setPrices). The relay writes that record from the change before the entry leaves the outbox. Never logged nor
   * delivered: it holds the API key's id and the client's idempotency key.
   */
  readonly operationId?: string;
}

/** A change as it is logged and delivered: sequenced, attributed, and filterable without a read. */
export interface ChangeEventValue {
  readonly seq: number;
  readonly eventId: string;
  readonly entity: ChangeEntity;
  readonly key: string;
  readonly version: number;
  readonly at: Date;
  readonly origin: ChangeOriginValue;
  /** For filters: the SKU and location the change is about, when it is about one. */
  readonly sku: string | null;
  readonly location: string | null;
  /** The channels the change is visible to; null when it concerns every channel (shared catalog). */
  readonly channels: readonly string[] | null;
  readonly data: Readonly<Record<string, unknown>>;
  /** When the relay logged it: commit-to-log latency is `loggedAt - at`. */
  readonly loggedAt: Date;
}

/**
 * A change before the relay sequenced it. `operationId`: the entry's, for the records kept per operation
 * ({@link OutboxEntryValue}); the relay leaves it out of the logged event.
 */
export type ChangeDraftValue = Omit<ChangeEventValue, 'seq' | 'loggedAt'> & { readonly operationId?: string };

export function originOf(ctx: RequestContext, extra: { idempotencyKey?: string | null; reason?: string | null; referenceDocument?: string | null; source?: ChangeOriginValue['source'] } = {}): ChangeOriginValue {
  return {
    source: extra.source ?? 'API',
    apiKeyId: ctx.caller.keyId,
    apiKey: ctx.caller.name,
    requestId: ctx.requestId,
    idempotencyKey: extra.idempotencyKey ?? null,
    reason: extra.reason ?? null,
    referenceDocument: extra.referenceDocument ?? null,
  };
}

/** The origin of a change made by the gateway itself on someone's behalf (sweeper, reset job). */
export function systemOrigin(source: ChangeOriginValue['source'], on: { apiKeyId?: string | null; apiKey?: string | null; reason?: string | null; referenceDocument?: string | null } = {}): ChangeOriginValue {
  return { source, apiKeyId: on.apiKeyId ?? null, apiKey: on.apiKey ?? null, requestId: null, idempotencyKey: null, reason: on.reason ?? null, referenceDocument: on.referenceDocument ?? null };
}

/** `id`: the event's id; random unless the change has an identity of its own ({@link operationEventId}). */
export function outboxEntry(origin: ChangeOriginValue, at: Date, fields: Omit<OutboxEntryValue, 'id' | 'at' | 'origin'> = {}, id: string = randomUUID()): OutboxEntryValue {
  return { id, at, origin, ...fields };
}

/**
 * The event id of the change an operation id made on an aggregate of `entity` (an operation applies once, so it
 * makes one change): a retry that must know whether an earlier attempt applied the operation can look for its
 * event, pending in the document's outbox or logged, after the document itself has forgotten it. A name-based
 * UUID (RFC 9562 version 8, from SHA-256): shaped like the random ids, and the operation id (which holds the API
 * key's id and the client's idempotency key) does not reach subscribers. The entity keeps operation ids of
 * different writers (positions, prices), whose formats are not built to be told apart, from sharing an event id.
 */
export function operationEventId(entity: ChangeEntity, opId: string): string {
  // One-shot `hash` to hex, then the version and variant set on the hex digits: a third of the cost of a Hash
  // object and a Buffer per id (1.45 → 0.42 µs), paid for every item of every adjustment.
  const hex = hash('sha256', `${entity}\n${opId}`, 'hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${VARIANT_DIGITS[Number.parseInt(hex[16]!, 16) & 0x3]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** RFC 9562's variant: the top two bits of byte 8 are 10, so its first hex digit is one of these. */
const VARIANT_DIGITS = '89ab';

/** One page of the log as the `changes` query returns it. */
export interface ChangePageValue {
  readonly changes: readonly ChangeEventValue[];
  readonly lastSeq: number;
  readonly hasMore: boolean;
}
