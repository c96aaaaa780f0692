import type { Logger } from 'pino';
import { deliverSafely, type EventBus } from './event-bus.js';

export interface InProcessEventBusOptions {
  /** Receives errors thrown by handlers: one faulty consumer must not stop delivery to the others. */
  readonly logger: Logger;
}

interface Subscription {
  readonly handler: (message: string) => void;
  active: boolean;
}

interface Pending {
  readonly topic: string;
  readonly message: string;
}

/**
 * The event bus of a single replica: nothing leaves the process, nothing is lost while it is open.
 *
 * Delivery is asynchronous, as with a real broker: `publish` returns before any handler runs, so a handler that
 * publishes never re-enters the publisher. Messages reach handlers in publish order. `isConnected` is always
 * true and `onReconnect` listeners never fire (there is no connection to lose).
 */
export class InProcessEventBus implements EventBus {
  readonly kind = 'in-process' as const;

  readonly #log: Logger;
  readonly #subscriptions = new Map<string, Set<Subscription>>();
  #queue: Pending[] = [];
  #drainScheduled: NodeJS.Immediate | null = null;
  #closed = false;

  constructor(options: InProcessEventBusOptions) {
    this.#log = options.logger.child({ component: 'event-bus', kind: this.kind });
  }

  publish(topic: string, message: string): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#queue.push({ topic, message });
    // setImmediate rather than a microtask: a handler that publishes in turn yields to I/O between rounds
    // instead of starving the event loop.
    this.#drainScheduled ??= setImmediate(() => this.#drain());
    return Promise.resolve(true);
  }

  async subscribe(topic: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('InProcessEventBus is closed');
    const subscription: Subscription = { handler, active: true };
    const subscriptions = this.#subscriptions.get(topic) ?? new Set<Subscription>();
    subscriptions.add(subscription);
    this.#subscriptions.set(topic, subscriptions);
    return async () => this.#unsubscribe(topic, subscription);
  }

  onReconnect(_listener: () => void): () => void {
    return () => {};
  }

  isConnected(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#drainScheduled !== null) clearImmediate(this.#drainScheduled);
    this.#drainScheduled = null;
    this.#queue = [];
    this.#subscriptions.clear();
  }

  #unsubscribe(topic: string, subscription: Subscription): void {
    // Also skips messages already published but not yet delivered: once removed, a handler is never called.
    subscription.active = false;
    const subscriptions = this.#subscriptions.get(topic);
    subscriptions?.delete(subscription);
    if (subscriptions?.size === 0) this.#subscriptions.delete(topic);
  }

  /** Delivers what was queued before this round; what handlers publish meanwhile waits for the next round. */
  #drain(): void {
    this.#drainScheduled = null;
    const batch = this.#queue;
    this.#queue = [];
    for (const { topic, message } of batch) {
      if (this.#closed) return;
      for (const subscription of [...(this.#subscriptions.get(topic) ?? [])]) {
        if (subscription.active) this.#deliver(subscription.handler, topic, message);
      }
    }
  }

  #deliver(handler: (message: string) => void, topic: string, message: string): void {
    deliverSafely(handler, message, (error) => this.#handlerFailed(error, topic));
  }

  #handlerFailed(error: unknown, topic: string): void {
    this.#log.error({ err: error, topic }, 'event bus handler failed');
  }
}
