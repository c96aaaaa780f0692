export type LocationKind = 'STORE' | 'WAREHOUSE' | 'DISTRIBUTION_CENTER' | 'ONLINE';
export const LOCATION_KINDS = ['STORE', 'WAREHOUSE', 'DISTRIBUTION_CENTER', 'ONLINE'] as const satisfies readonly LocationKind[];

export type NegativeStockPolicy = 'ALLOW' | 'CLAMP' | 'REJECT';
export const NEGATIVE_STOCK_POLICIES = ['ALLOW', 'CLAMP', 'REJECT'] as const satisfies readonly NegativeStockPolicy[];

export type ChannelKind = 'WEB_STOREFRONT' | 'POS' | 'MARKETPLACE';
export const CHANNEL_KINDS = ['WEB_STOREFRONT', 'POS', 'MARKETPLACE'] as const satisfies readonly ChannelKind[];

export interface LocationRecord {
  readonly code: string;
  readonly name: string;
  readonly kind: LocationKind;
  readonly region: string;
  /** IANA time zone. */
  readonly timezone: string;
  /** What an inventory change that would take onHand below 0 does here. */
  readonly negativeStockPolicy: NegativeStockPolicy;
  readonly archivedAt: Date | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ChannelRecord {
  readonly code: string;
  readonly name: string;
  readonly kind: ChannelKind;
  /** ISO 4217. */
  readonly currency: string;
  readonly region: string;
  /** Locations whose stock the channel sells, in the order given. */
  readonly locationCodes: readonly string[];
  /** Units per SKU held back from available-to-sell. */
  readonly inventoryBuffer: number;
  readonly archivedAt: Date | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ExternalIds {
  readonly externalVariantId: string;
  readonly externalProductId: string | null;
  readonly externalInventoryItemId: string | null;
}

export interface SkuMappingHistoryEntry extends ExternalIds {
  readonly replacedAt: Date;
  /** Name of the API key that replaced or removed these ids. */
  readonly replacedBy: string;
}

/** The link between a SKU and a channel's own ids; unmapping deactivates it and keeps it. */
export interface SkuMappingRecord extends ExternalIds {
  /** `${channelCode}:${skuCode}` — ':' is not allowed in codes, so the key is unambiguous. */
  readonly key: string;
  readonly channelCode: string;
  readonly skuCode: string;
  readonly active: boolean;
  /** Earlier ids, oldest first. */
  readonly history: readonly SkuMappingHistoryEntry[];
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export function skuMappingKey(channelCode: string, skuCode: string): string {
  return `${channelCode}:${skuCode}`;
}
