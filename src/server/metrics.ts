import type { ApolloServerPlugin } from '@apollo/server';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RequestContext } from '../domain/common/request-context.js';

/** Operation names are client-chosen: only well-formed ones become labels, and only so many distinct ones. */
const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration.', labelNames: ['route', 'method', 'status'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly graphqlOperations = new Counter({ name: 'graphql_operations_total', help: 'GraphQL operations by name, type and outcome.', labelNames: ['operation', 'type', 'outcome'], registers: [this.registry] });
  readonly graphqlDuration = new Histogram({ name: 'graphql_operation_duration_seconds', help: 'GraphQL operation duration.', labelNames: ['operation', 'type'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly mongoCommands = new Counter({ name: 'mongodb_commands_total', help: 'Commands sent to MongoDB, by command name.', labelNames: ['command'], registers: [this.registry] });
  private readonly operationLabels = new Set<string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
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
