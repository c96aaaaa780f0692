/**
 * `retail-sync-gateway/client`: the resuming change-feed client for the gateway's GraphQL subscriptions.
 * See docs/client.md.
 */
export {
  backoffDelay,
  ChangeFeedError,
  ConnectionRejectedError,
  CONNECTION_ACK_TIMEOUT_MS,
  createChangeFeedClient,
  CURSOR_EXPIRED_CODE,
  CursorExpiredError,
  DEFAULT_INITIAL_RETRY_DELAY_MS,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DISPOSE_CLOSE_WAIT_MS,
  HANDSHAKE_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  NON_RETRYABLE_CLOSE_CODES,
  PONG_TIMEOUT_MS,
  RETRYABLE_ERROR_CODES,
  SubscriptionRejectedError,
} from './change-feed-client.js';
export type { ChangeFeedClient, ChangeFeedClientOptions, ChangeFeedHandlers, ChangeFeedRequest, ConnectionState, RetryOptions } from './change-feed-client.js';
