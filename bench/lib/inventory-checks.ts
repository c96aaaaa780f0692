import type { mongo } from 'mongoose';
import { WITHOUT_OUTBOX } from '../../src/store/outbox.js';

/**
 * Correctness of one side's writes, read back from the store: a fast wrong answer must not count as an
 * adjustment. Every position starts with one RECEIPT of `initialOnHand` (0 → initial) and then only sees
 * SALEs of −1, so its ledger must be exactly the chain initial → initial−1 → … → onHand, one movement per
 * applied item, with as many movements as the position's version says changes were applied.
 */
export interface LedgerSummary {
  readonly positions: number;
  readonly movements: number;
  /** Movements after the setup receipts: the items this side applied. */
  readonly appliedItems: number;
  /** Σ (initial − onHand) over the positions: must equal appliedItems when every delta is −1. */
  readonly unitsSold: number;
}

interface PositionRow {
  _id: string;
  onHand: number;
  version: number;
}
interface MovementRow {
  _id: string;
  positionKey: string;
  delta: number;
  onHandBefore: number;
  onHandAfter: number;
}

export async function checkLedger(side: string, positions: mongo.Collection, movements: mongo.Collection, positionKeys: readonly string[], initialOnHand: number): Promise<LedgerSummary> {
  const keys = new Set(positionKeys);
  const positionRows = (await positions.find({}, { projection: { onHand: 1, version: 1 } }).toArray()) as unknown as PositionRow[];
  const movementRows = (await movements.find({}, { projection: { positionKey: 1, delta: 1, onHandBefore: 1, onHandAfter: 1 } }).toArray()) as unknown as MovementRow[];
  const fail = (message: string): never => {
    throw new Error(`${side}: ${message}`);
  };
  if (positionRows.length !== keys.size) fail(`expected ${keys.size} positions, found ${positionRows.length}`);
  const byPosition = new Map<string, MovementRow[]>(positionKeys.map((key) => [key, []]));
  for (const movement of movementRows) {
    const list = byPosition.get(movement.positionKey) ?? fail(`movement ${movement._id} is for an unknown position "${movement.positionKey}"`);
    list.push(movement);
  }
  let unitsSold = 0;
  for (const position of positionRows) {
    const ledger = (byPosition.get(position._id) ?? fail(`unexpected position "${position._id}"`)).sort((a, b) => b.onHandBefore - a.onHandBefore);
    const where = `position ${position._id} (onHand ${position.onHand}, version ${position.version}, ${ledger.length} movements)`;
    if (ledger.length !== position.version) fail(`${where}: one movement per applied change expected`);
    // Sorted by onHandBefore descending, a ledger of −1 sales reads 0 → initial (the receipt sorts last) and then
    // initial → initial−1 → …: check the sales first, then the receipt.
    const receipt = ledger.pop();
    if (!receipt || receipt.onHandBefore !== 0 || receipt.onHandAfter !== initialOnHand || receipt.delta !== initialOnHand) fail(`${where}: the first movement must be the receipt 0 → ${initialOnHand}`);
    let expected = initialOnHand;
    for (const sale of ledger) {
      if (sale.delta !== -1 || sale.onHandBefore !== expected || sale.onHandAfter !== expected - 1) {
        fail(`${where}: movement ${sale._id} goes ${sale.onHandBefore} → ${sale.onHandAfter} (delta ${sale.delta}), expected ${expected} → ${expected - 1}`);
      }
      expected--;
    }
    if (position.onHand !== expected) fail(`${where}: the ledger ends at ${expected}, not at onHand`);
    unitsSold += initialOnHand - position.onHand;
  }
  const summary = { positions: positionRows.length, movements: movementRows.length, appliedItems: movementRows.length - positionRows.length, unitsSold };
  if (summary.unitsSold !== summary.appliedItems) fail(`${summary.unitsSold} units sold but ${summary.appliedItems} sale movements`);
  return summary;
}

/**
 * The raw side must write what the gateway writes, field for field, or the comparison is of different work.
 * Compares the top-level fields of one position and one movement of each side (the raw side's remembered
 * operations are smaller by design: see inventory-raw.ts). The change feed's outbox fields are left out: the gateway
 * sets them with each write and its relay removes them once the event is logged, so whether one is there depends on
 * when the check looks (the raw side has no change feed: see BENCHMARKS.md).
 */
export async function checkSameShape(gateway: { positions: mongo.Collection; movements: mongo.Collection }, raw: { positions: mongo.Collection; movements: mongo.Collection }): Promise<void> {
  const pairs = [
    ['position', await gateway.positions.findOne({}), await raw.positions.findOne({})],
    ['movement', await gateway.movements.findOne({}), await raw.movements.findOne({})],
  ] as const;
  for (const [what, gatewayDoc, rawDoc] of pairs) {
    if (!gatewayDoc || !rawDoc) throw new Error(`No ${what} to compare (gateway ${gatewayDoc ? 'has one' : 'has none'}, raw ${rawDoc ? 'has one' : 'has none'}).`);
    const gatewayFields = Object.keys(gatewayDoc).filter((field) => !(field in WITHOUT_OUTBOX)).sort();
    const rawFields = Object.keys(rawDoc).sort();
    if (gatewayFields.join() !== rawFields.join()) {
      throw new Error(`The raw side writes a different ${what} document than the gateway; update bench/lib/inventory-raw.ts.\n  gateway: ${gatewayFields.join(', ')}\n  raw:     ${rawFields.join(', ')}`);
    }
  }
}
