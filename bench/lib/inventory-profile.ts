/**
 * Where the gateway's CPU goes during the measured rounds of one phase, from a V8 CPU profile of the gateway
 * (`BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"`) and the bench's JSON line, whose
 * `gatewayWindowsUs` says when those rounds ran (process.hrtime microseconds: the profile's own clock).
 *
 *   npx tsx bench/inventory.bench.ts --only=single | tail -n 1 > /tmp/run.json
 *   npx tsx bench/lib/inventory-profile.ts DIR/CPU.….cpuprofile /tmp/run.json single
 *
 * Each sample goes to the layer of the nearest JavaScript frame on its stack that belongs to one (native
 * frames such as socket writes go to whoever called them): the split BENCHMARKS.md reports.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const PACKAGE_LAYERS: readonly (readonly [RegExp, string])[] = [
  [/^mongodb$/, 'driver (mongodb), incl. socket writes'],
  [/^bson$/, 'BSON'],
  [/^(mongoose|mquery|kareem|sift|mpath)$/, 'mongoose'],
  [/^(@apollo\/.*|graphql|@graphql-tools\/.*|@escape\.tech\/.*)$/, 'Apollo Server + graphql-js'],
  [/^(pino|sonic-boom|@pinojs\/.*|thread-stream|pino-std-serializers|quick-format-unescaped|atomic-sleep|on-exit-leak-free)$/, 'logging (pino)'],
  [/^(prom-client|tdigest|bintrees)$/, 'metrics (prom-client)'],
  [/^zod$/, 'validation (zod)'],
  [/^(p-map|dataloader)$/, 'p-map, DataLoader'],
  [/^(tsx|get-tsconfig)$/, 'tsx'],
];

function layerOf(frame: ProfileNode['callFrame']): string | null {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8 (program)';
    return null;
  }
  const packages = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  if (packages) {
    const name = packages[packages.length - 1]!.slice('node_modules/'.length);
    return PACKAGE_LAYERS.find(([pattern]) => pattern.test(name))?.[1] ?? `package ${name}`;
  }
  if (url.startsWith('node:')) return /_http_|internal\/http|^node:http$/.test(url) ? 'node:http' : null;
  const own = url.match(/\/(src|resolvers)\/(.*)$/);
  if (!own) return 'other';
  const path = `${own[1]}/${own[2]}`;
  if (/idempotency|result-codec|stable-stringify/.test(path)) return 'src: idempotency (hash, EJSON result)';
  if (path.startsWith('src/server/') || path.startsWith('src/domain/access/')) return 'src: server, context, auth';
  if (path.startsWith('src/store/')) return 'src: repositories';
  return 'src: domain, resolvers';
}

function main(): void {
  const [profileFile, jsonFile, phase] = process.argv.slice(2);
  if (!profileFile || !jsonFile || !phase) {
    process.stderr.write('Usage: npx tsx bench/lib/inventory-profile.ts PROFILE.cpuprofile BENCH-JSON-LINE-FILE single|batch\n');
    process.exitCode = 2;
    return;
  }
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const lastLine = readFileSync(jsonFile, 'utf8').trim().split('\n').pop()!;
  const windows = (JSON.parse(lastLine) as { gatewayWindowsUs: Record<string, [number, number][]> }).gatewayWindowsUs[phase];
  if (!windows) throw new Error(`The bench output has no measured gateway rounds for phase "${phase}".`);

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const counts = new Map<string, number>();
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((sample, i) => {
    at += profile.timeDeltas[i]!;
    if (!windows.some(([from, to]) => at >= from && at <= to)) return;
    total++;
    let layer: string | null = null;
    let sawNode = false;
    for (let id: number | undefined = sample; id !== undefined && layer === null; id = parentOf.get(id)) {
      const frame = byId.get(id)!.callFrame;
      layer = layerOf(frame);
      if (frame.url.startsWith('node:')) sawNode = true;
    }
    layer ??= sawNode ? 'Node core (streams, timers, promises)' : 'V8 native (microtasks, …)';
    counts.set(layer, (counts.get(layer) ?? 0) + 1);
  });
  if (total === 0) throw new Error('No profile sample falls into the measured rounds: is this the profile of that run?');
  process.stdout.write(`${total} samples in the measured gateway rounds of "${phase}"\n`);
  for (const [layer, count] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${layer}\n`);
}

main();
