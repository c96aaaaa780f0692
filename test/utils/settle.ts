/** How many times a client resends before a test gives up on a key that never settles. */
const MAX_ATTEMPTS = 2_000;

/**
 * A client's retry loop: resend the same request while its idempotency key is held by a request still in
 * progress (or by a crashed one, until its lease runs out). Yields to the event loop between attempts, so it
 * waits on the gateway, not on a fixed delay.
 */
export async function settle<R extends { __typename: string }>(send: () => Promise<R | null | undefined>): Promise<R> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const result = await send();
    if (result && result.__typename !== 'IdempotencyKeyInProgressError') return result;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the idempotency key never settled');
}
