import type { ChannelRecord } from '../channel/channel.types.js';
import { availableOf, positionKey, type LocationAvailabilityRecord, type PositionQuantitiesRecord, type SkuAvailabilityRecord } from './inventory.types.js';

/**
 * Available-to-sell of a SKU in a channel: per location max(0, onHand − reserved − safetyStock), summed, minus
 * the channel's buffer, never below 0. A location that is oversold counts as 0 rather than taking stock away
 * from the others: its shortfall is that location's to resolve, not the channel's.
 */
export function availabilityOf(skuCode: string, channel: ChannelRecord, positions: ReadonlyMap<string, PositionQuantitiesRecord>, explain: boolean): SkuAvailabilityRecord {
  const locations: LocationAvailabilityRecord[] = channel.locationCodes.map((locationCode) => {
    const position = positions.get(positionKey(skuCode, locationCode));
    const state = position ?? { onHand: 0, reserved: 0, safetyStock: 0 };
    return { locationCode, onHand: state.onHand, reserved: state.reserved, safetyStock: state.safetyStock, available: availableOf(state) };
  });
  const sumOfLocations = locations.reduce((sum, location) => sum + Math.max(0, location.available), 0);
  return {
    skuCode,
    channelCode: channel.code,
    availableToSell: Math.max(0, sumOfLocations - channel.inventoryBuffer),
    explain: explain ? { locations, sumOfLocations, channelBuffer: channel.inventoryBuffer } : null,
  };
}
