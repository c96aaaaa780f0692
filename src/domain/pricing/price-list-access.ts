import type { Caller } from '../access/access.types.js';
import { assertChannelAccess, canSeeChannel } from '../access/channel-access.js';
import { DomainError } from '../common/errors.js';
import type { PriceListRecord } from './pricing.types.js';

/**
 * A key bound to channels sees the lists that can apply to them: global and regional lists and those scoped to
 * its own channels. A list scoped to another channel is that channel's data and looks as if it did not exist.
 */
export function canSeePriceList(caller: Caller, list: Pick<PriceListRecord, 'channelCode'>): boolean {
  return list.channelCode === null || canSeeChannel(caller, list.channelCode);
}

/**
 * A key bound to channels writes only lists scoped to one of its channels: a global or regional list prices
 * channels the key is not bound to. Unbound keys write every list.
 */
export function assertCanWritePriceList(caller: Caller, list: Pick<PriceListRecord, 'code' | 'channelCode'>): void {
  if (caller.channels.length === 0) return;
  if (list.channelCode === null) {
    throw new DomainError('FORBIDDEN', `API key "${caller.name}" is bound to channels and may write only price lists scoped to one of them; "${list.code}" is not scoped to a channel.`);
  }
  assertChannelAccess(caller, list.channelCode);
}
