import type { Logger } from 'pino';
import type { Caller } from '../access/access.types.js';
import type { Loaders } from '../../store/loaders.js';
import type { Services } from '../services.js';

/**
 * What every resolver and domain service receives first. Built once per HTTP request (and per event for
 * subscriptions), so DataLoader caches never outlive a request and never mix two callers' views.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly caller: Caller;
  readonly logger: Logger;
  readonly loaders: Loaders;
  readonly services: Services;
  /** One clock reading per request, so every item of a batch carries the same timestamp. */
  readonly now: Date;
}
