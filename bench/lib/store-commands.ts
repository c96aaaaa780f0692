import { get } from 'node:http';

/**
 * The gateway's own count of commands sent to MongoDB (`mongodb_commands_total` on /metrics), by command
 * name. Differenced around a phase it says how many store round trips one GraphQL request cost, which must
 * match what the raw side does, or the comparison is of different work. Empty unless the gateway runs with
 * MONGODB_COMMAND_METRICS=true (startGatewayProcess's countCommands), which must not read as "none sent".
 */
export async function storeCommandCounts(graphqlUrl: string): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = get(new URL('/metrics', graphqlUrl), { timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
  });
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^mongodb_commands_total\{command="([^"]+)"\} (\d+(?:\.\d+)?)$/gm)) {
    counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

/** Commands per request in a phase, e.g. `{ find: 1 }`; commands below 0.01 per request are left out. */
export function commandsPerRequest(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, requests: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [command, count] of after) {
    const perRequest = (count - (before.get(command) ?? 0)) / Math.max(1, requests);
    if (perRequest >= 0.01) result[command] = perRequest;
  }
  return result;
}

/**
 * Store commands per request (or per item) by name, or null when the run did not count them: the gateway counts
 * only with MONGODB_COMMAND_METRICS=true (--count-commands), which costs it CPU. `{}` is counted and none sent.
 */
export type StoreCommands = Readonly<Record<string, number>> | null;

export const NOT_COUNTED = 'not counted (run with --count-commands)';

/** `find 1.00, update 0.50`, by name, each divided by `per` (e.g. items per request); "none" for counted zero. */
export function formatStoreCommands(commands: StoreCommands, per = 1): string {
  if (commands === null) return NOT_COUNTED;
  const entries = Object.entries(commands).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([name, count]) => `${name} ${(count / per).toFixed(2)}`).join(', ') || 'none';
}
