/**
 * Finds rows that name the same position twice in a file of a million rows without keeping a million keys:
 * each key is remembered as a 64-bit hash (two independent 32-bit halves) next to the line that had it, in an
 * open-addressing table of typed arrays (12 bytes a slot, ~24 MB for a million rows). Equal hashes only make a
 * pair of lines *suspect*; {@link confirmDuplicates} then compares the real keys of the suspect lines, so two
 * different positions whose hashes collide are never reported (a collision is a few in 10^8 files anyway).
 */
export class DuplicateFinder {
  private capacity = 1 << 12;
  private high = new Uint32Array(this.capacity);
  private low = new Uint32Array(this.capacity);
  /** 0 marks an empty slot: data rows start at line 2. */
  private lines = new Uint32Array(this.capacity);
  private size = 0;
  private readonly pairs: SuspectPair[] = [];
  private overflow = false;

  /**
   * `maxSuspects` bounds the memory spent on a file that repeats itself wholesale (such a file is refused as a
   * whole, see {@link overflowed}); `hashOf` is replaceable so tests can force collisions.
   */
  constructor(
    private readonly maxSuspects = MAX_SUSPECT_PAIRS,
    private readonly hashOf: (key: string) => readonly [number, number] = hash64,
  ) {}

  /** Remembers the key's line; an earlier line with the same hash makes the pair suspect. */
  add(key: string, line: number): void {
    const [high, low] = this.hashOf(key);
    const slot = this.find(high, low);
    const earlier = this.lines[slot]!;
    if (earlier !== 0) {
      if (this.pairs.length < this.maxSuspects) this.pairs.push({ first: earlier, line });
      else this.overflow = true;
      return;
    }
    this.high[slot] = high;
    this.low[slot] = low;
    this.lines[slot] = line;
    if (++this.size * 2 > this.capacity) this.grow();
  }

  /** Pairs (first line with the hash, later line with the same hash), in the order found. */
  get suspects(): readonly SuspectPair[] {
    return this.pairs;
  }

  /** More repeated keys than `maxSuspects`: some were not recorded, so the file cannot be checked row by row. */
  get overflowed(): boolean {
    return this.overflow;
  }

  private find(high: number, low: number): number {
    const mask = this.capacity - 1;
    let slot = (low ^ high) & mask;
    while (this.lines[slot] !== 0 && (this.high[slot] !== high || this.low[slot] !== low)) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const [high, low, lines] = [this.high, this.low, this.lines];
    this.capacity *= 2;
    this.high = new Uint32Array(this.capacity);
    this.low = new Uint32Array(this.capacity);
    this.lines = new Uint32Array(this.capacity);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === 0) continue;
      const slot = this.find(high[i]!, low[i]!);
      this.high[slot] = high[i]!;
      this.low[slot] = low[i]!;
      this.lines[slot] = lines[i]!;
    }
  }
}

/** Repeats recorded per file (~50 bytes each, plus their keys when confirmed). */
export const MAX_SUSPECT_PAIRS = 100_000;

export interface SuspectPair {
  readonly first: number;
  readonly line: number;
}

/** A confirmed duplicate: `line` names the same key as the earlier `first`. */
export interface DuplicatePair extends SuspectPair {
  readonly key: string;
}

/**
 * Keeps the suspect pairs whose lines really have the same key. `keysOfLines` reads the file again for just
 * those lines (only files with suspects pay for that second read).
 */
export async function confirmDuplicates(suspects: readonly SuspectPair[], keysOfLines: (lines: ReadonlySet<number>) => Promise<ReadonlyMap<number, string>>): Promise<DuplicatePair[]> {
  if (suspects.length === 0) return [];
  const keys = await keysOfLines(new Set(suspects.flatMap((pair) => [pair.first, pair.line])));
  return suspects.flatMap((pair) => {
    const key = keys.get(pair.line);
    return key !== undefined && key === keys.get(pair.first) ? [{ ...pair, key }] : [];
  });
}

/** Line numbers as a bitset: a million lines take 125 KB. */
export class LineSet {
  private bits = new Uint8Array(1 << 10);
  private count = 0;

  add(line: number): void {
    const byte = line >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (line & 7);
    if ((this.bits[byte]! & mask) === 0) this.count++;
    this.bits[byte]! |= mask;
  }

  has(line: number): boolean {
    const byte = line >>> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (line & 7))) !== 0;
  }

  get size(): number {
    return this.count;
  }
}

/** Two independent 32-bit hashes of the string (FNV-1a and a multiply-xorshift), each finished with MurmurHash3's fmix32. */
export function hash64(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return [fmix32(a), fmix32(b)];
}

function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
