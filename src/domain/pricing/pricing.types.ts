/** Whether a list's amounts include tax (B2C shelf prices) or not (B2B, US sales tax added at checkout). */
export type TaxMode = 'GROSS' | 'NET';
export const TAX_MODES = ['GROSS', 'NET'] as const satisfies readonly TaxMode[];

/**
 * A set of prices in one currency with a scope (channel and/or region), an optional validity window and a
 * priority: the unit {@link selectPrice} ranks. See docs/pricing.md.
 */
export interface PriceListRecord {
  readonly code: string;
  readonly name: string;
  /** ISO 4217; fixed at creation: amounts are minor units of this currency. */
  readonly currency: string;
  /** Applies only to this channel; null: any channel. */
  readonly channelCode: string | null;
  /** Applies only to channels of this region; null: any region. */
  readonly region: string | null;
  /** Inclusive; null: since always. */
  readonly effectiveFrom: Date | null;
  /** Exclusive; null: forever. */
  readonly effectiveUntil: Date | null;
  /** −1000..1000, higher wins among lists of equal date-ness and scope. */
  readonly priority: number;
  readonly taxMode: TaxMode;
  readonly archivedAt: Date | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a price is at one version. */
export interface PriceStateValue {
  /** Integer minor units of the list's currency (cents for EUR, yen for JPY). */
  readonly amount: number;
  /** The "was" price shown struck through; always greater than amount. */
  readonly compareAtAmount: number | null;
  readonly version: number;
}

/** The price of one SKU in one price list, keyed `${priceList}:${sku}`. */
export interface PriceRecord {
  readonly key: string;
  readonly priceList: string;
  readonly sku: string;
  readonly amount: number;
  readonly compareAtAmount: number | null;
  /** Starts at 1, increases by one on every applied change; the value setPrices' compareVersion compares. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export function priceKey(priceList: string, sku: string): string {
  // ':' is not allowed in codes, so the key is unambiguous.
  return `${priceList}:${sku}`;
}

/**
 * One applied price change: an entry of the price history, and (bounded) of the price document's own list of
 * recent operations, written in the same single-document update as the new amount. That list answers "was
 * this item applied already?" atomically, so a retry after a crash can rebuild a missing history entry.
 */
export interface PriceChangeRecord {
  /** The operation id `${operationScope}:${requestDigest}:${index}` (PriceWriter): a retry never writes it twice. */
  readonly id: string;
  readonly priceList: string;
  readonly sku: string;
  /** Null when the change created the price. */
  readonly before: PriceStateValue | null;
  readonly after: PriceStateValue;
  readonly apiKeyId: string;
  /** Name of the API key that made the change. */
  readonly apiKey: string;
  readonly idempotencyKey: string;
  readonly at: Date;
}

/** A price as the write path reads it: the record and the operations recently applied to it. */
export interface StoredPrice {
  readonly record: PriceRecord;
  /** Newest last; bounded (see PriceRepository). */
  readonly recentChanges: readonly PriceChangeRecord[];
}

/** setPrices' compareVersion did not match the stored price: someone else changed it first. */
export interface StalePriceErrorValue {
  readonly errorType: 'StalePriceError';
  readonly message: string;
  readonly sku: string;
  readonly expectedVersion: number;
  /** 0 when no price exists. */
  readonly currentVersion: number;
  readonly currentAmount: number | null;
  readonly currentCompareAtAmount: number | null;
}

export type PriceItemError = StalePriceErrorValue;

/** What one setPrices item did: the common outcomes, or REJECTED with an error (the other items still apply). */
export type PriceItemOutcome = 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'REJECTED';

export interface PriceItemOutcomeRecord {
  readonly index: number;
  readonly outcome: PriceItemOutcome;
  /** The price after the item; for a rejected item the current price (null when there is none). */
  readonly price: PriceRecord | null;
  /** The history entry the item wrote; null when nothing was written. */
  readonly change: PriceChangeRecord | null;
  readonly error: PriceItemError | null;
}

export interface PriceBatchOutcome {
  readonly kind: 'batch';
  readonly items: readonly PriceItemOutcomeRecord[];
  readonly replayed: boolean;
}

/** Why a candidate price did or did not win; see {@link selectPrice} for the order these are checked in. */
export type CandidateReason = 'SELECTED' | 'OUTRANKED' | 'ARCHIVED' | 'CURRENCY_MISMATCH' | 'OTHER_CHANNEL' | 'OTHER_REGION' | 'NOT_YET_EFFECTIVE' | 'EXPIRED';

/** The ranking rules among eligible candidates, in the order they are applied. */
export type RankRule = 'DATED' | 'SCOPE' | 'PRIORITY' | 'CODE';

export interface PriceCandidateRecord {
  readonly list: PriceListRecord;
  readonly price: PriceRecord;
  readonly reason: CandidateReason;
  /** For OUTRANKED: the first rule by which the winner ranked higher. */
  readonly outrankedBy: RankRule | null;
}

/** The answer of priceAt: the winning price (if any) and every candidate with why it won or lost. */
export interface PriceResolutionRecord {
  readonly sku: string;
  readonly channelCode: string;
  readonly region: string;
  readonly currency: string;
  readonly at: Date;
  readonly winner: { readonly list: PriceListRecord; readonly price: PriceRecord } | null;
  readonly candidates: readonly PriceCandidateRecord[];
}
