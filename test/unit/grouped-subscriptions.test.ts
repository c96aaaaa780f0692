import { buildSchema, parse, type ExecutionArgs } from 'graphql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { systemOrigin, type ChangeEventValue } from '../../src/domain/changes/change-event.js';
import type { ChangeFeed, ChangeListener } from '../../src/events/change-feed.js';
import { SubscriptionHub } from '../../src/events/subscription-hub.js';
import { GroupedSubscriptions } from '../../src/server/subscription-execution.js';
import type { ChangeLogRepository } from '../../src/store/repositories/change-log.repository.js';

const event = (seq: number): ChangeEventValue => ({ seq, eventId: `e${seq}`, entity: 'Product', key: 'P', version: seq, at: new Date(0), origin: systemOrigin('API'), sku: null, location: null, channels: null, data: {}, loggedAt: new Date(0) });

describe('grouped subscription execution', () => {
  it('executes each event once per (document, variables without since, scope) and sends the result to every member', async () => {
    const listeners = new Set<ChangeListener>();
    let lastSeq = 0;
    const feed = { get lastSeq() { return lastSeq; }, listen: (l: ChangeListener) => (listeners.add(l), () => listeners.delete(l)) } as unknown as ChangeFeed;
    const hub = new SubscriptionHub(feed, { readAfter: async () => [] } as unknown as ChangeLogRepository, { maxQueuedEvents: 100, replayBatch: 10 });
    let executions = 0;
    const schema = buildSchema('type Query { ok: Boolean } type Subscription { changed(tag: String, since: Int): Int }');
    const field = schema.getSubscriptionType()!.getFields()['changed']!;
    field.subscribe = () => hub.open({ matches: () => true, since: null });
    field.resolve = (e: ChangeEventValue) => (executions++, e.seq);
    const grouped = new GroupedSubscriptions(1 << 20, pino({ level: 'silent' }));
    const document = parse('subscription S($tag: String, $since: Int) { changed(tag: $tag, since: $since) }');
    const caller = (channels: string[]) => ({ caller: { scopes: ['catalog:read'], channels } });
    const subscribe = (variableValues: Record<string, unknown>, channels: string[] = []) => grouped.subscribe({ schema, document, variableValues, contextValue: caller(channels) } as ExecutionArgs, null) as Promise<AsyncIterableIterator<{ data?: unknown }>>;

    const sameGroup = await Promise.all([subscribe({ tag: 'a', since: 1 }), subscribe({ tag: 'a', since: 7 }), subscribe({ tag: 'a' })]);
    const otherVariables = await subscribe({ tag: 'b' });
    const otherScope = await subscribe({ tag: 'a' }, ['WEB']);
    expect(grouped.groupCount).toBe(3);
    while (hub.liveStreams < 5) await new Promise((resolve) => setImmediate(resolve));

    lastSeq = 1;
    for (const listener of listeners) listener(event(1));
    const results = await Promise.all([...sameGroup, otherVariables, otherScope].map((stream) => stream.next()));
    expect(results.map((result) => result.value?.data)).toEqual(Array.from({ length: 5 }, () => ({ changed: 1 })));
    expect(executions).toBe(3);

    await Promise.all([...sameGroup, otherVariables, otherScope].map((stream) => stream.return!()));
    expect(grouped.groupCount).toBe(0);
    expect(hub.size).toBe(0);
  });
});
