import type { ApolloServerPlugin } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestContext } from '../domain/common/request-context.js';
import type { ChangeFeedRuntime } from '../events/change-feed-runtime.js';

/** Operation names are client-chosen: only well-formed ones become labels, and only so many distinct ones. */
const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration.', labelNames: ['route', 'method', 'status'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly graphqlOperations = new Counter({ name: 'graphql_operations_total', help: 'GraphQL operations by name, type and outcome.', labelNames: ['operation', 'type', 'outcome'], registers: [this.registry] });
  readonly graphqlDuration = new Histogram({ name: 'graphql_operation_duration_seconds', help: 'GraphQL operation duration.', labelNames: ['operation', 'type'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly mongoCommands = new Counter({ name: 'mongodb_commands_total', help: 'Commands sent to MongoDB, by command name (counted only with MONGODB_COMMAND_METRICS=true).', labelNames: ['command'], registers: [this.registry] });
  private readonly operationLabels = new Set<string>();
  /** Commit (the change's `at`) to this replica's feed: the update latency a subscriber here sees, before execution. */
  readonly changeDeliveryLag = new Histogram({ name: 'change_feed_delivery_lag_seconds', help: 'Time from a change being committed to this replica delivering it to its subscriptions.', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [this.registry] });
  readonly changesDelivered = new Counter({ name: 'change_feed_events_total', help: 'Change events this replica received, in sequence order.', labelNames: ['entity'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Change-feed health: open streams, the last seq delivered here, whether this replica relays, bus state. */
  observeChangeFeed(runtime: ChangeFeedRuntime): void {
    new Gauge({ name: 'change_feed_subscriptions', help: 'Open subscription streams on this replica.', registers: [this.registry], collect() { this.set(runtime.hub.size); } });
    new Gauge({ name: 'change_feed_last_seq', help: 'The last change-log seq this replica delivered.', registers: [this.registry], collect() { this.set(runtime.feed.lastSeq); } });
    new Gauge({ name: 'change_relay_active', help: '1 on the replica holding the relay lease.', registers: [this.registry], collect() { this.set(runtime.relay.isLeader ? 1 : 0); } });
    new Counter({ name: 'change_relay_append_collisions_total', help: 'Relay appends refused by the log (already logged, or another relay\'s numbers) and redone carefully.', registers: [this.registry], collect() { this.reset(); this.inc(runtime.relay.collisions); } });
    new Gauge({ name: 'change_bus_connected', help: '1 while the event bus (Redis) is reachable.', registers: [this.registry], collect() { this.set(runtime.bus.isConnected() ? 1 : 0); } });
    runtime.feed.listen((event) => {
      this.changesDelivered.inc({ entity: event.entity });
      this.changeDeliveryLag.observe(Math.max(0, Date.now() - event.at.getTime()) / 1000);
    });
  }

  operationLabel(name: string | null | undefined): string {
    if (!name || !OPERATION_NAME.test(name)) return 'anonymous';
    if (this.operationLabels.has(name)) return name;
    if (this.operationLabels.size >= MAX_OPERATION_LABELS) return 'other';
    this.operationLabels.add(name);
    return name;
  }

  /** Counts and times every GraphQL operation served over HTTP. */
  apolloPlugin(): ApolloServerPlugin<RequestContext> {
    const metrics = this;
    return {
      async requestDidStart() {
        const end = process.hrtime.bigint();
        return {
          async willSendResponse({ operation, operationName, errors }) {
            const labels = { operation: metrics.operationLabel(operationName), type: operation?.operation ?? 'unknown' };
            metrics.graphqlOperations.inc({ ...labels, outcome: errors?.length ? 'error' : 'success' });
            metrics.graphqlDuration.observe(labels, Number(process.hrtime.bigint() - end) / 1e9);
          },
        };
      },
    };
  }
}
