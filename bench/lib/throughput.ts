import autocannon from 'autocannon';

export interface ThroughputSample {
  readonly completed: number;
  readonly seconds: number;
  /** Failed requests: HTTP errors, GraphQL errors, socket errors, timeouts. Any makes the figure suspect. */
  readonly failed: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

export interface GatewayLoad {
  readonly url: string;
  readonly apiKey: string;
  readonly connections: number;
  readonly bodies: readonly Buffer[];
  /** True when a response body is the expected answer; a 200 with `errors` must not count as a lookup. */
  readonly verify: (body: string) => boolean;
}

/**
 * Closed loop through autocannon: `connections` keep-alive sockets, each sending its next request as soon as
 * the previous answer arrives, every request for the next code in the rotation.
 */
export async function gatewayThroughput(load: GatewayLoad, durationSeconds: number): Promise<ThroughputSample> {
  let next = 0;
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: durationSeconds,
    // autocannon notices the end of `duration` at its next sample; the default 1 s would stretch a 5 s phase
    // by up to 20% (the rate stays right, the sides would just not run equally long).
    sampleInt: 100,
    timeout: 10,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${load.apiKey}` },
    verifyBody: (body) => typeof body === 'string' && load.verify(body),
    requests: [
      {
        setupRequest: (request) => {
          request.body = load.bodies[next++ % load.bodies.length]!;
          return request;
        },
      },
    ],
  });
  return {
    completed: result.requests.total,
    seconds: result.duration,
    failed: result.errors + result.timeouts + result.non2xx + result.mismatches,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/**
 * The same closed loop for the raw driver: `concurrency` workers in this process, each starting its next read
 * as soon as the previous one resolved, until the deadline.
 */
export async function rawThroughput(concurrency: number, durationSeconds: number, read: (index: number) => Promise<unknown>): Promise<ThroughputSample> {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + durationSeconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      try {
        if ((await read(next++)) === null) failed++;
        else latencies.push(performance.now() - begun);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { completed: latencies.length, seconds, failed, latencyP50Ms: at(0.5), latencyP99Ms: at(0.99) };
}

/** Sums rounds: a rate is total completed over total measured time, not an average of per-round rates. */
export function combine(samples: readonly ThroughputSample[]): ThroughputSample & { readonly perSecond: number } {
  const completed = samples.reduce((sum, s) => sum + s.completed, 0);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const weighted = (pick: (s: ThroughputSample) => number): number => samples.reduce((sum, s) => sum + pick(s) * s.completed, 0) / Math.max(1, completed);
  return {
    completed,
    seconds,
    failed: samples.reduce((sum, s) => sum + s.failed, 0),
    latencyP50Ms: weighted((s) => s.latencyP50Ms),
    latencyP99Ms: weighted((s) => s.latencyP99Ms),
    perSecond: completed / seconds,
  };
}
