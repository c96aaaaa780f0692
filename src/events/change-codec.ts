import type { ChangeEventValue } from '../domain/changes/change-event.js';

/** Bus topics. `changes`: logged events, relay → every replica. `outbox`: "documents have pending entries", writers → relay. */
export const TOPICS = { changes: 'changes', outbox: 'outbox' } as const;

/** Logged events as JSON for the bus; dates travel as ISO strings and are revived on the way in. */
export function encodeChanges(events: readonly ChangeEventValue[]): string {
  return JSON.stringify(events);
}

export function decodeChanges(message: string): ChangeEventValue[] {
  const parsed = JSON.parse(message) as (Omit<ChangeEventValue, 'at' | 'loggedAt'> & { at: string; loggedAt: string })[];
  return parsed.map((event) => ({ ...event, at: new Date(event.at), loggedAt: new Date(event.loggedAt) }));
}

/** `{ collection: [ids] }`. */
export function encodePending(pending: ReadonlyMap<string, ReadonlySet<string>>): string {
  return JSON.stringify(Object.fromEntries([...pending].map(([collection, ids]) => [collection, [...ids]])));
}

export function decodePending(message: string): Map<string, string[]> {
  const parsed = JSON.parse(message) as Record<string, unknown>;
  const pending = new Map<string, string[]>();
  for (const [collection, ids] of Object.entries(parsed)) {
    if (Array.isArray(ids)) pending.set(collection, ids.filter((id): id is string => typeof id === 'string'));
  }
  return pending;
}
