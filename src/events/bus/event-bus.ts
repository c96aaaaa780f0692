/**
 * Carries messages between gateway replicas fast. It is never the only copy of anything: delivery is at most
 * once and may drop messages during an outage, so every consumer also catches up from the MongoDB change log
 * (ARCHITECTURE.md: "MongoDB is the log; Redis is the megaphone").
 *
 * Two implementations share one contract suite (test/integration/event-bus.contract.test.ts): an in-process bus
 * for a single replica, and Redis Pub/Sub (node-redis) when REDIS_URL is set.
 */
export interface EventBus {
  /** 'in-process' or 'redis', for logs and /metrics. */
  readonly kind: 'in-process' | 'redis';

  /**
   * Sends `message` to every handler of `topic` on every replica, this one included. Never throws and never
   * blocks the caller on an unreachable broker: resolves false when the message was not handed to the broker
   * (down, or too many publishes already waiting), true when it was. A true is not a delivery guarantee.
   */
  publish(topic: string, message: string): Promise<boolean>;

  /**
   * Calls `handler` for each message on `topic`, in the order the broker delivers them. Resolves once the
   * subscription is active on the broker (so a publish after this resolves is seen). The returned function
   * removes the handler.
   */
  subscribe(topic: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /**
   * Called after the bus reconnected following an outage (messages may have been lost meanwhile): consumers
   * read what they missed from the log. Returns a function that removes the listener.
   */
  onReconnect(listener: () => void): () => void;

  /** Whether the broker is reachable right now (the in-process bus always is). */
  isConnected(): boolean;

  /** Stops delivering and closes connections; idempotent. */
  close(): Promise<void>;
}

/**
 * Calls a subscriber's handler so that neither a throw nor a rejected promise escapes into the bus: inside
 * node-redis's reply parser an exception would corrupt the connection, and the handler type allows async
 * functions whose rejections would otherwise be unhandled.
 */
export function deliverSafely(handler: (message: string) => void, message: string, onError: (error: unknown) => void): void {
  try {
    const result: unknown = handler(message);
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}
