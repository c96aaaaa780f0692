import type { Logger } from 'pino';
import type { Store } from '../store/connection.js';
import { OUTBOX_SOURCES } from '../store/change-finalizers.js';
import type { EventBus } from './bus/event-bus.js';
import { InProcessEventBus } from './bus/in-process-bus.js';
import { RedisEventBus } from './bus/redis-bus.js';
import { ChangeFeed, type ChangeFeedOptions } from './change-feed.js';
import { ChangeRelay, type ChangeDeriver, type ChangeRelayOptions } from './change-relay.js';
import { SubscriptionHub, type SubscriptionHubOptions } from './subscription-hub.js';

export interface ChangeFeedRuntimeOptions {
  readonly redisUrl: string | null;
  readonly channelPrefix: string;
  readonly relay: ChangeRelayOptions;
  readonly feed: ChangeFeedOptions;
  readonly hub: SubscriptionHubOptions;
}

/** The change feed of one process: bus, relay (active on one replica), this replica's feed and its streams. */
export interface ChangeFeedRuntime {
  readonly bus: EventBus;
  readonly relay: ChangeRelay;
  readonly feed: ChangeFeed;
  readonly hub: SubscriptionHub;
  /** Logs everything pending and delivers it to this replica's feed (tests and shutdown). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startChangeFeedRuntime(store: Store, derivers: readonly ChangeDeriver[], options: ChangeFeedRuntimeOptions, logger: Logger): Promise<ChangeFeedRuntime> {
  const log = logger.child({ component: 'change-feed' });
  const bus: EventBus = options.redisUrl ? await RedisEventBus.connect({ url: options.redisUrl, channelPrefix: options.channelPrefix, logger: log }) : new InProcessEventBus({ logger: log });
  const changeLog = store.repositories.changeLog;
  const relay = new ChangeRelay(changeLog, OUTBOX_SOURCES, store.outboxSignal, bus, derivers, options.relay, log);
  const feed = new ChangeFeed(changeLog, bus, options.feed, log);
  const hub = new SubscriptionHub(feed, changeLog, options.hub);
  try {
    await feed.start();
    await relay.start();
  } catch (error) {
    await relay.stop().catch(() => undefined);
    await feed.stop().catch(() => undefined);
    await bus.close();
    throw error;
  }
  log.info({ bus: bus.kind, relay: relay.isLeader ? 'active' : 'standby' }, 'change feed started');
  return {
    bus,
    relay,
    feed,
    hub,
    async settle() {
      // Derived events (availability) are written while draining, then drained themselves.
      for (let round = 0; round < 3; round++) await relay.flush();
      await feed.catchUp();
    },
    async stop() {
      await relay.stop();
      await feed.stop();
      await bus.close();
    },
  };
}
