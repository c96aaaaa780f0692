import type { Caller } from './access.types.js';
import { DomainError } from '../common/errors.js';

/** True when the caller's key may see the channel (unbound keys see every channel). */
export function canSeeChannel(caller: Caller, channelCode: string): boolean {
  return caller.channels.length === 0 || caller.channels.includes(channelCode);
}

/**
 * Throws FORBIDDEN for a channel outside the key's binding. The message does not say whether the channel
 * exists, so a storefront key cannot probe other channels.
 */
/**
 * Throws FORBIDDEN for a key bound to channels: such keys belong to one storefront or connector and may not
 * change what every channel shares (products, SKUs, locations, channels).
 */
export function assertUnboundKey(caller: Caller, action: string): void {
  if (caller.channels.length > 0) {
    throw new DomainError('FORBIDDEN', `API key "${caller.name}" is bound to channels and cannot ${action}; use an unbound key.`);
  }
}

export function assertChannelAccess(caller: Caller, channelCode: string): void {
  if (!canSeeChannel(caller, channelCode)) {
    throw new DomainError('FORBIDDEN', `API key "${caller.name}" is not bound to the requested channel.`);
  }
}
