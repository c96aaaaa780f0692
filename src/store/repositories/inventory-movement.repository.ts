import type { Connection, Model } from 'mongoose';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import { positionKey, type InventoryFlag, type InventoryMovementRecord, type InventoryReason } from '../../domain/inventory/inventory.types.js';
import { isOnlyDuplicateKeyErrors } from './mongo-errors.js';
import { inventoryMovementSchema, type InventoryMovementDocument } from '../models/inventory-movement.model.js';

type StoredMovement = InventoryMovementDocument & { _id: string };

function orderKeyOf(movement: InventoryMovementRecord): string {
  return `${movement.at.toISOString()}|${movement.id}`;
}

function toRecord({ _id, ...document }: StoredMovement): InventoryMovementRecord {
  return {
    id: _id,
    skuCode: document.skuCode,
    locationCode: document.locationCode,
    delta: document.delta,
    reason: document.reason as InventoryReason,
    referenceDocument: document.referenceDocument ?? null,
    apiKeyId: document.apiKeyId,
    apiKey: document.apiKey,
    idempotencyKey: document.idempotencyKey ?? null,
    onHandBefore: document.onHandBefore,
    onHandAfter: document.onHandAfter,
    flags: document.flags as InventoryFlag[],
    at: document.at,
  };
}

/** Both lists in ledger order, each movement once (`extra` may repeat what `written` holds). */
function mergeByOrder(written: readonly InventoryMovementRecord[], extra: readonly InventoryMovementRecord[]): InventoryMovementRecord[] {
  const ids = new Set(written.map((movement) => movement.id));
  const keyed = [...written, ...extra.filter((movement) => !ids.has(movement.id))].map((movement) => [orderKeyOf(movement), movement] as const);
  return keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, movement]) => movement);
}

export class InventoryMovementRepository {
  private readonly model: Model<StoredMovement>;

  constructor(connection: Connection) {
    this.model = connection.model<StoredMovement>('InventoryMovement', inventoryMovementSchema);
  }

  /** Writes the movements that do not exist yet, in one round trip; those already written are left as they are. */
  async insertManyIfAbsent(movements: readonly InventoryMovementRecord[]): Promise<void> {
    if (movements.length === 0) return;
    const documents = movements.map(({ id, ...rest }) => ({ _id: id, ...rest, flags: [...rest.flags], positionKey: positionKey(rest.skuCode, rest.locationCode), orderKey: orderKeyOf({ id, ...rest }) }));
    try {
      // The driver's collection directly: mongoose's per-document validation cost 5x the insert itself here.
      await this.model.collection.insertMany(documents as never[], { ordered: false });
    } catch (error) {
      // Written before (a resumed chunk): the unique _id refuses the copy, which is the point.
      if (!isOnlyDuplicateKeyErrors(error)) throw error;
    }
  }

  /** The movements with these ids (operation ids) that exist. */
  async findByIds(ids: readonly string[]): Promise<InventoryMovementRecord[]> {
    if (ids.length === 0) return [];
    const documents = await this.model.find({ _id: { $in: [...ids] } }).lean<StoredMovement[]>().exec();
    return documents.map(toRecord);
  }

  /** Movements of these positions stamped strictly after `after` (any order): what a reset re-applies. */
  async findAfter(positionKeys: readonly string[], after: Date): Promise<InventoryMovementRecord[]> {
    if (positionKeys.length === 0) return [];
    // orderKey starts with the ISO time: on real MongoDB this is a range on the (positionKey, orderKey) index.
    const documents = await this.model
      .find({ positionKey: { $in: [...positionKeys] }, orderKey: { $gt: `${after.toISOString()}|\uffff` }, at: { $gt: after } })
      .lean<StoredMovement[]>()
      .exec();
    return documents.map(toRecord);
  }

  /**
   * A position's ledger, oldest first, from `since` on. `unwritten`: the position's movements the relay may not
   * have written yet (from its outbox, read before this), merged in by id and order: a movement is read the
   * moment its request answered, not once the relay caught up.
   */
  async list(skuCode: string, locationCode: string, since: Date | null, page: PageRequest, unwritten: readonly InventoryMovementRecord[] = []): Promise<Page<InventoryMovementRecord>> {
    const filter: Record<string, unknown> = { positionKey: positionKey(skuCode, locationCode) };
    if (since) filter['at'] = { $gte: since };
    const paged = page.afterKey === null ? filter : { ...filter, orderKey: { $gt: page.afterKey } };
    const listed = since === null ? unwritten : unwritten.filter((movement) => movement.at >= since);
    const extra = page.afterKey === null ? listed : listed.filter((movement) => orderKeyOf(movement) > page.afterKey!);
    const documents = await this.model.find(paged).sort({ orderKey: 1 }).limit(page.first + 1).lean<StoredMovement[]>().exec();
    const written = documents.map(toRecord);
    const rows = extra.length === 0 ? written : mergeByOrder(written, extra).slice(0, page.first + 1);
    const count = () => this.model.countDocuments(filter).exec();
    return pageOf(rows, page, orderKeyOf, async () => {
      if (listed.length === 0) return count();
      const [total, alreadyWritten] = await Promise.all([count(), this.model.countDocuments({ _id: { $in: listed.map((movement) => movement.id) } }).exec()]);
      return total + listed.length - alreadyWritten;
    });
  }

  async count(): Promise<number> {
    return this.model.countDocuments({}).exec();
  }
}
