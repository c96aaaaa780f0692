import type { AppliedOp, AppliedOpKind, InventoryFlag, RecentOps } from '../domain/inventory/inventory.types.js';

/**
 * How a position stores the operations applied to it: one JSON string per operation,
 * `[id, delta, onHandBefore, onHandAfter, flags, at (epoch ms), kind?]`.
 *
 * Why a string and not a sub-document: a position keeps its last hundred operations, and every write rewrites
 * the whole document. A string is one value for the store to copy and for the driver to decode instead of seven
 * fields; on the embedded store, which copies a document's every sub-document on each update, that copy was the
 * largest share of its CPU under load (BENCHMARKS.md). Nothing queries inside the operations: they are read with
 * the position and searched here.
 */
export type StoredAppliedOp = string | LegacyAppliedOp;

/** The sub-document form written before the string one; still read, never written. */
interface LegacyAppliedOp {
  readonly id: string;
  readonly delta: number;
  readonly onHandBefore: number;
  readonly onHandAfter: number;
  readonly flags?: readonly string[];
  readonly at: Date;
  readonly kind?: string | null;
}

type Encoded = [id: string, delta: number, onHandBefore: number, onHandAfter: number, flags: InventoryFlag[], at: number, kind?: AppliedOpKind];

export function encodeAppliedOp(op: AppliedOp): string {
  const encoded: Encoded = [op.id, op.delta, op.onHandBefore, op.onHandAfter, [...op.flags], op.at.getTime()];
  if (op.kind) encoded.push(op.kind);
  return JSON.stringify(encoded);
}

export function decodeAppliedOp(stored: StoredAppliedOp): AppliedOp {
  if (typeof stored !== 'string') {
    const { id, delta, onHandBefore, onHandAfter, flags, at, kind } = stored;
    return { id, delta, onHandBefore, onHandAfter, flags: (flags ?? []) as InventoryFlag[], at, ...(kind ? { kind: kind as AppliedOpKind } : {}) };
  }
  const [id, delta, onHandBefore, onHandAfter, flags, at, kind] = JSON.parse(stored) as Encoded;
  return { id, delta, onHandBefore, onHandAfter, flags, at: new Date(at), ...(kind ? { kind } : {}) };
}

/**
 * A position's stored operations, decoded one at a time when asked for. Every write asks for one by id; the
 * encoded form starts with that id, so the lookup compares prefixes and parses only the match.
 */
export class StoredRecentOps implements RecentOps {
  private readonly decoded: (AppliedOp | undefined)[] = [];

  constructor(
    private readonly stored: readonly StoredAppliedOp[],
    private readonly appended: readonly AppliedOp[] = [],
  ) {}

  get length(): number {
    return this.stored.length + this.appended.length;
  }

  find(id: string): AppliedOp | undefined {
    const appended = this.appended.find((op) => op.id === id);
    if (appended) return appended;
    // What encodeAppliedOp writes first: the array's opening bracket, then the id exactly as JSON.stringify quotes it.
    const prefix = `[${JSON.stringify(id)},`;
    for (let index = this.stored.length - 1; index >= 0; index--) {
      const stored = this.stored[index]!;
      if (typeof stored === 'string' ? stored.startsWith(prefix) : stored.id === id) return this.at(index);
    }
    return undefined;
  }

  oldest(): AppliedOp | undefined {
    return this.stored.length > 0 ? this.at(0) : this.appended[0];
  }

  concat(op: AppliedOp): RecentOps {
    return new StoredRecentOps(this.stored, [...this.appended, op]);
  }

  *[Symbol.iterator](): Iterator<AppliedOp> {
    for (let index = 0; index < this.stored.length; index++) yield this.at(index);
    yield* this.appended;
  }

  private at(index: number): AppliedOp {
    return (this.decoded[index] ??= decodeAppliedOp(this.stored[index]!));
  }
}

/**
 * A position read without its operations, for a request that cannot find its own among them: a first attempt
 * under a fresh operation scope (`OperationScope.resumed` false). Reading a busy position's hundred operations
 * only to learn that is the larger part of decoding it. Anything else asking for them is a bug, and throws.
 */
export class UnreadRecentOps implements RecentOps {
  constructor(private readonly appended: readonly AppliedOp[] = []) {}

  get length(): number {
    return unread();
  }

  find(id: string): AppliedOp | undefined {
    return this.appended.find((op) => op.id === id);
  }

  oldest(): AppliedOp | undefined {
    return unread();
  }

  concat(op: AppliedOp): RecentOps {
    return new UnreadRecentOps([...this.appended, op]);
  }

  [Symbol.iterator](): Iterator<AppliedOp> {
    return unread();
  }
}

function unread(): never {
  throw new Error("This position was read without its recent operations (a first attempt's read): read it whole to list them.");
}
