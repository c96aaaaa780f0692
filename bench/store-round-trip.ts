/**
 * What one store round trip costs on this machine: wall time and this process's CPU per sequential `findOne` by
 * `_id` and `updateOne` with `$inc`, through the bare driver. Nothing else runs. The other benches are ratios
 * measured side by side, but their absolute figures (and the change feed's latency goals) move with the machine:
 * run this first when comparing runs from different days (BENCHMARKS.md, "The machine").
 *
 *   npx tsx bench/store-round-trip.ts [--count N]
 */
import { mongo } from 'mongoose';
import { Cleanup } from './lib/cleanup.js';
import { openBenchStore, progress } from './lib/bench-store.js';

const countAt = process.argv.indexOf('--count');
const count = countAt === -1 ? 3_000 : Number(process.argv[countAt + 1]);
if (!Number.isSafeInteger(count) || count < 1) {
  process.stderr.write('Usage: npx tsx bench/store-round-trip.ts [--count N (a positive integer, default 3000)]\n');
  process.exit(2);
}

async function measure(name: string, roundTrip: () => Promise<unknown>): Promise<string> {
  for (let index = 0; index < count; index++) await roundTrip(); // warm-up: the JIT on both sides
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let index = 0; index < count; index++) await roundTrip();
  const wallUs = ((performance.now() - started) * 1_000) / count;
  const cpu = process.cpuUsage(cpuBefore);
  return `${name.padEnd(12)} ${wallUs.toFixed(0).padStart(6)} µs per round trip, ${((cpu.user + cpu.system) / count).toFixed(0).padStart(5)} µs of driver CPU (${(cpu.system / count).toFixed(0)} in the kernel)`;
}

const cleanup = new Cleanup();
try {
  const store = await openBenchStore(cleanup);
  const client = new mongo.MongoClient(store.uri);
  await client.connect();
  cleanup.add('close the client', () => client.close());
  const collection = client.db(`round_trip_${process.pid}`).collection<{ _id: string; n: number }>('probe');
  cleanup.add('drop the database', async () => void (await client.db(`round_trip_${process.pid}`).dropDatabase()));
  await collection.insertOne({ _id: 'probe', n: 0 });
  progress(`${count} sequential round trips per command, after as many to warm up`);
  console.log(`store: ${store.label}`);
  console.log(await measure('findOne', () => collection.findOne({ _id: 'probe' })));
  console.log(await measure('updateOne', () => collection.updateOne({ _id: 'probe' }, { $inc: { n: 1 } })));
} finally {
  await cleanup.run();
}
