import type { Logger } from 'pino';

/**
 * Named failpoints for fault tests: places in a write or request path where a test can stop the process
 * deterministically, instead of hoping a signal lands at the right moment. Set with
 * `FAILPOINTS=name=action[,name=action]`; config refuses them in production.
 *
 * Actions:
 * - `pause`: log "failpoint paused" with the name, then wait until the process receives SIGUSR2.
 * - `crash`: log "failpoint crash" and exit at once with code 137, as a SIGKILL would (no cleanup runs).
 */
export type FailpointAction = 'pause' | 'crash';

const ACTIONS = new Set<FailpointAction>(['pause', 'crash']);

let active = new Map<string, FailpointAction>();
let log: Logger | null = null;

/** Parses a FAILPOINTS value; throws with a clear message for an unknown action. */
export function parseFailpoints(spec: string | undefined): Map<string, FailpointAction> {
  const parsed = new Map<string, FailpointAction>();
  for (const entry of (spec ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const [name, action] = entry.split('=') as [string, string | undefined];
    if (!action || !ACTIONS.has(action as FailpointAction)) throw new Error(`Failpoint "${entry}": expected name=pause or name=crash.`);
    parsed.set(name, action as FailpointAction);
  }
  return parsed;
}

export function configureFailpoints(failpoints: ReadonlyMap<string, FailpointAction>, logger: Logger): void {
  active = new Map(failpoints);
  log = logger;
  if (active.size > 0) logger.warn({ failpoints: Object.fromEntries(active) }, 'failpoints are enabled (tests only)');
}

/** A no-op unless a test enabled this failpoint; costs one Map lookup on the hot path. */
export async function failpoint(name: string): Promise<void> {
  const action = active.get(name);
  if (!action) return;
  if (action === 'crash') {
    log?.warn({ failpoint: name }, 'failpoint crash');
    process.exit(137);
  }
  const resumed = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
  log?.warn({ failpoint: name }, 'failpoint paused');
  await resumed;
}
