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
export function assertChannelAccess(caller: Caller, channelCode: string): void {
  if (!canSeeChannel(caller, channelCode)) {
    throw new DomainError('FORBIDDEN', `API key "${caller.name}" is not bound to the requested channel.`);
  }
}
