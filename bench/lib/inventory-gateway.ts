import { GraphqlClient } from './graphql-client.js';
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
  private readonly client: GraphqlClient;

  constructor(
    url: string,
    apiKey: string,
    sockets: number,
    timeoutMs = 60_000, // 60 seconds: far above any batch, only catches a hung gateway
  ) {
    this.client = new GraphqlClient(url, apiKey, timeoutMs, sockets);
  }

  /**
   * Sends one request; resolves with each item's before/after, or null when the gateway did not apply every
   * item exactly once (an error, a rejection, or a replay of an earlier request).
   */
  async adjust(key: string, items: readonly AdjustmentItem[]): Promise<AppliedItem[] | null> {
    const data = await this.client.post<AdjustResult>(adjustBody(key, items));
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
    return (await this.client.post<AdjustResult>(adjustBody(key, items))).adjustInventory;
  }

  close(): void {
    this.client.close();
  }
}
