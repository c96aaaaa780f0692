import type { mongo } from 'mongoose';

/** Ids per `$in` read of documents by `_id`: see {@link findByIds}. */
export const IDS_PER_READ = 100;

/**
 * The documents of `collection` with these `_id`s, read in slices of {@link IDS_PER_READ} sent together.
 *
 * Why not one `$in` of every id: the embedded store (mongo-java-server) finds the documents through the `_id` index
 * but then matches each one against every value of the list, so one read of n ids costs it n² comparisons: 22% of
 * its CPU went there under batch adjustments, most of it in the relay's reads of up to 500 documents. Sliced, its
 * CPU per adjusted item fell by a sixth (BENCHMARKS.md, "25 November, third session"). On MongoDB an `$in` on
 * `_id` is one index seek per id whichever way it is sent; the slices cost it only round trips, sent in parallel.
 */
export async function findByIds<T>(collection: mongo.Collection, ids: readonly string[], options: mongo.FindOptions = {}): Promise<T[]> {
  if (ids.length === 0) return [];
  const read = (slice: readonly string[]) => collection.find({ _id: { $in: [...slice] } } as never, options).toArray() as unknown as Promise<T[]>;
  if (ids.length <= IDS_PER_READ) return read(ids);
  const unique = [...new Set(ids)]; // one document per id, as one `$in` would return it
  const slices: (readonly string[])[] = [];
  for (let start = 0; start < unique.length; start += IDS_PER_READ) slices.push(unique.slice(start, start + IDS_PER_READ));
  return (await Promise.all(slices.map(read))).flat();
}
