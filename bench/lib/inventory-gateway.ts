import { Agent, request } from 'node:http';
import type { GraphqlResponse } from './graphql-client.js';
import type { AdjustmentItem, AppliedItem } from './inventory-raw.js';

/**
 * `adjustInventory` as a client would send it (the typed operation in test/e2e/inventory-operations.ts, with a
 * smaller selection): per item the outcome and the quantities before and after, which is also what the raw
 * side gets back from its writes.
 */
export const ADJUST_MUTATION =
  'mutation Adjust($items: [InventoryAdjustmentInput!]!, $key: String!) { adjustInventory(items: $items, idempotencyKey: $key) { __typename ' +
  '... on InventoryBatchResult { replayed items { index outcome movement { onHandBefore onHandAfter } } } ... on ErrorResult { errorCode message } } }';

interface AdjustResult {
  readonly adjustInventory:
    | { readonly __typename: 'InventoryBatchResult'; readonly replayed: boolean; readonly items: readonly { readonly index: number; readonly outcome: string; readonly movement: AppliedItem | null }[] }
    | { readonly __typename: string; readonly errorCode?: string; readonly message?: string };
}

export function adjustBody(key: string, items: readonly AdjustmentItem[]): Buffer {
  return Buffer.from(JSON.stringify({ query: ADJUST_MUTATION, variables: { key, items } }));
}

/**
 * Keep-alive node:http with one socket per worker, so the gateway side runs the same closed loop as the raw
 * side (`rawThroughput`: a request in flight at the deadline is waited for and counted, on both sides alike;
 * with batches of 100 a request takes a second or more, which autocannon would cut off and drop).
 */
export class GatewayAdjuster {
  private readonly agent: Agent;
  private readonly target: URL;

  constructor(
    url: string,
    private readonly apiKey: string,
    sockets: number,
    private readonly timeoutMs = 60_000, // 60 seconds: far above any batch, only catches a hung gateway
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
    this.target = new URL(url);
  }

  /**
   * Sends one request; resolves with each item's before/after, or null when the gateway did not apply every
   * item exactly once (an error, a rejection, or a replay of an earlier request).
   */
  async adjust(key: string, items: readonly AdjustmentItem[]): Promise<AppliedItem[] | null> {
    const data = await this.post<AdjustResult>(adjustBody(key, items));
    const result = data.adjustInventory;
    if (!('items' in result) || result.replayed || result.items.length !== items.length) return null;
    const applied: AppliedItem[] = [];
    for (const item of result.items) {
      if (item.outcome !== 'APPLIED' || !item.movement) return null;
      applied.push(item.movement);
    }
    return applied;
  }

  /** The raw response, for checks that need replays and typed errors. */
  async adjustRaw(key: string, items: readonly AdjustmentItem[]): Promise<AdjustResult['adjustInventory']> {
    return (await this.post<AdjustResult>(adjustBody(key, items))).adjustInventory;
  }

  post<T>(body: Buffer): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(
        this.target,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${this.apiKey}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: GraphqlResponse<T>;
            try {
              parsed = JSON.parse(text) as GraphqlResponse<T>;
            } catch {
              reject(new Error(`GraphQL response is not JSON (HTTP ${res.statusCode}): ${text.slice(0, 300)}`));
              return;
            }
            if (res.statusCode !== 200 || parsed.errors?.length || parsed.data === undefined) reject(new Error(`GraphQL request failed (HTTP ${res.statusCode}): ${text.slice(0, 300)}`));
            else resolve(parsed.data);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GraphQL request timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
