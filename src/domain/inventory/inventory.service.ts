import { randomUUID } from 'node:crypto';
import pMap from 'p-map';
import type { ChangeLogRepository } from '../../store/repositories/change-log.repository.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { InventoryMovementRepository } from '../../store/repositories/inventory-movement.repository.js';
import type { InventoryPositionRepository } from '../../store/repositories/inventory-position.repository.js';
import type { SkuRepository } from '../../store/repositories/sku.repository.js';
import { assertChannelAccess } from '../access/channel-access.js';
import { MAX_BATCH_ITEMS } from '../common/batch.js';
import { runBatchMutation, unknownReferences } from '../common/batch-mutation.js';
import { DomainError, invalidInput, type ErrorResultValue, type InputIssue } from '../common/errors.js';
import type { IdempotencyService, OperationScope } from '../common/idempotency.service.js';
import { pageRequest, type Page } from '../common/pagination.js';
import type { RequestContext } from '../common/request-context.js';
import type { LocationRecord } from '../channel/channel.types.js';
import type { LocationDirectory } from '../channel/location-directory.js';
import { availabilityOf } from './availability.js';
import { decideAdjustment, decideSet } from './inventory-decisions.js';
import { positionKey, positionView, type InventoryBatchOutcome, type InventoryItemOutcomeRecord, type InventoryMovementRecord, type InventoryPositionFilter, type InventoryPositionRecord, type SkuAvailabilityRecord } from './inventory.types.js';
import { adjustmentBatchSchema, setBatchSchema } from './inventory.validation.js';
import { findMovements, movementsOfChanges } from './ledger-recorder.js';
import { PositionWriter, type PositionOperation, type WrittenItem } from './position-writer.js';

/** Positions written in parallel per batch; items on the same position are applied in order, one at a time. */
const POSITION_CONCURRENCY = 8;

export class InventoryService {
  private readonly writer: PositionWriter;

  constructor(
    private readonly positions: InventoryPositionRepository,
    private readonly movements: InventoryMovementRepository,
    private readonly skus: SkuRepository,
    private readonly locations: LocationDirectory,
    private readonly channels: ChannelRepository,
    private readonly idempotency: IdempotencyService,
    private readonly changeLog: ChangeLogRepository,
  ) {
    this.writer = new PositionWriter(positions);
  }

  /** Null when nothing was recorded for the pair, or the pair is outside the caller's channels. */
  async getPosition(ctx: RequestContext, skuCode: string, locationCode: string): Promise<InventoryPositionRecord | null> {
    const allowed = await this.allowedLocations(ctx);
    if (allowed && !allowed.has(locationCode)) return null;
    return this.positions.findByKey(positionKey(skuCode, locationCode));
  }

  async listPositions(ctx: RequestContext, filter: InventoryPositionFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Page<InventoryPositionRecord>> {
    const request = pageRequest(first, after);
    let locationCodes = filter?.locationCodes ?? null;
    if (filter?.channel) {
      assertChannelAccess(ctx.caller, filter.channel);
      const channel = await this.channels.findByKey(filter.channel);
      const channelLocations = channel?.locationCodes ?? [];
      locationCodes = locationCodes ? locationCodes.filter((code) => channelLocations.includes(code)) : [...channelLocations];
    }
    const allowed = await this.allowedLocations(ctx);
    if (allowed) locationCodes = (locationCodes ?? [...allowed]).filter((code) => allowed.has(code));
    return this.positions.list({ skuCodes: filter?.skuCodes ?? null, locationCodes, availableBelow: filter?.availableBelow ?? null }, request);
  }

  async listMovements(ctx: RequestContext, skuCode: string, locationCode: string, since: Date | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<Page<InventoryMovementRecord>> {
    const allowed = await this.allowedLocations(ctx);
    if (allowed && !allowed.has(locationCode)) throw new DomainError('FORBIDDEN', `API key "${ctx.caller.name}" may not read location "${locationCode}".`);
    const request = pageRequest(first, after);
    // The outbox before the ledger: a movement leaves the outbox only once the relay has written it, so one that is
    // not pending at this read is in the ledger at the next.
    const unwritten = movementsOfChanges(await this.changeLog.pendingChanges('InventoryPosition', [positionKey(skuCode, locationCode)]));
    return this.movements.list(skuCode, locationCode, since ?? null, request, unwritten);
  }

  async availableToSell(ctx: RequestContext, channelCode: string, skuCodes: readonly string[], explain: boolean): Promise<SkuAvailabilityRecord[]> {
    assertChannelAccess(ctx.caller, channelCode);
    if (skuCodes.length > MAX_BATCH_ITEMS) throw new DomainError('BAD_USER_INPUT', `At most ${MAX_BATCH_ITEMS} SKUs per request, but got ${skuCodes.length}.`, { argument: 'skus' });
    const channel = await this.channels.findByKey(channelCode);
    if (!channel) throw new DomainError('NOT_FOUND', `Channel "${channelCode}" does not exist.`, { argument: 'channel' });
    const keys = skuCodes.flatMap((sku) => channel.locationCodes.map((location) => positionKey(sku, location)));
    const positions = new Map((await this.positions.findQuantitiesByKeys(keys)).map((position) => [position.key, position]));
    return skuCodes.map((sku) => availabilityOf(sku, channel, positions, explain));
  }

  /** Deltas, each applied exactly once per use of the idempotency key (its operation scope) and item index. */
  adjust(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<InventoryBatchOutcome | ErrorResultValue> {
    if (!idempotencyKey) {
      return Promise.resolve(invalidInput([{ index: null, path: ['idempotencyKey'], code: 'REQUIRED', message: 'adjustInventory needs an idempotency key: deltas are not safe to repeat.' }]));
    }
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'adjustInventory',
      idempotencyKey,
      input,
      argument: 'items',
      schema: adjustmentBatchSchema,
      // Two lines of one order may move the same SKU at the same location: repeats are legitimate.
      identity: null,
      execute: async (items, scope) => {
        if (scope === null) throw new Error('adjustInventory runs under an idempotency key');
        const checked = await this.checkReferences(ctx, items, scope);
        if ('errorCode' in checked) return checked;
        const operations = items.map((item, index): PositionOperation => {
          const ids = { skuCode: item.sku, locationCode: item.location };
          const policy = checked.locations.get(item.location)!.negativeStockPolicy;
          return { index, opId: `${scope.id}:${index}`, ...ids, reason: item.reason, referenceDocument: item.referenceDocument ?? null, idempotencyKey, decide: (current) => decideAdjustment(current, item.delta, policy, ids) };
        });
        return this.applyAll(ctx, await this.withRecorded(operations, scope, checked.positions), checked.positions);
      },
    });
  }

  /** Absolute values, each checked against the caller's compareOnHand unless it opted out with null. */
  set(ctx: RequestContext, input: unknown, idempotencyKey: string | null | undefined): Promise<InventoryBatchOutcome | ErrorResultValue> {
    return runBatchMutation(ctx, this.idempotency, {
      operation: 'setInventory',
      idempotencyKey,
      input,
      argument: 'items',
      schema: setBatchSchema,
      identity: { keyOf: (item) => positionKey(item.sku, item.location), path: ['location'], what: 'Position' },
      execute: async (items, scope) => {
        const checked = await this.checkReferences(ctx, items, scope);
        if ('errorCode' in checked) return checked;
        // Without a key the request is not retry-safe, but its items must still get distinct operation ids.
        const prefix = scope?.id ?? `${ctx.caller.keyId}:~${randomUUID()}`;
        const operations = items.map((item, index): PositionOperation => {
          const ids = { skuCode: item.sku, locationCode: item.location };
          return { index, opId: `${prefix}:${index}`, ...ids, reason: item.reason ?? 'CYCLE_COUNT', referenceDocument: item.referenceDocument ?? null, idempotencyKey: idempotencyKey ?? null, kind: 'SET', decide: (current) => decideSet(current, item.onHand, item.compareOnHand, item.safetyStock, ids) };
        });
        return this.applyAll(ctx, await this.withRecorded(operations, scope, checked.positions), checked.positions);
      },
    });
  }

  /**
   * A resumed request (its earlier attempt died or failed part way) may have applied operations that a hundred
   * later changes have since pushed out of their position's recent operations. Their movements are in the ledger,
   * or, while the relay has not written them yet, the change the operation made is pending in the position's
   * outbox (or logged: the log is kept at least as long as idempotency keys): the movement is rebuilt from it for
   * the answer (the relay writes it to the ledger). A first attempt cannot have applied any, and reads nothing
   * more. `loaded`: the positions as read, with their recent operations, before any of these reads.
   */
  private async withRecorded(operations: readonly PositionOperation[], scope: OperationScope | null, loaded: ReadonlyMap<string, InventoryPositionRecord>): Promise<readonly PositionOperation[]> {
    if (!scope?.resumed) return operations;
    const forgotten = operations.filter((operation) => !loaded.get(positionKey(operation.skuCode, operation.locationCode))?.recentOps.find(operation.opId));
    if (forgotten.length === 0) return operations;
    const recorded = await findMovements({ movements: this.movements, changeLog: this.changeLog }, forgotten.map((operation) => ({ opId: operation.opId, positionKey: positionKey(operation.skuCode, operation.locationCode) })));
    return operations.map((operation) => {
      const movement = recorded.get(operation.opId);
      return movement ? { ...operation, recorded: movement } : operation;
    });
  }

  /** `loaded`: the positions as read by {@link checkReferences} (absent: not created yet). */
  private async applyAll(ctx: RequestContext, operations: readonly PositionOperation[], loaded: ReadonlyMap<string, InventoryPositionRecord>): Promise<InventoryBatchOutcome> {
    const byPosition = new Map<string, PositionOperation[]>();
    for (const operation of operations) {
      const key = positionKey(operation.skuCode, operation.locationCode);
      byPosition.set(key, [...(byPosition.get(key) ?? []), operation]);
    }
    // The usual case, one operation on an existing position, goes in one round trip for the whole request; a
    // position that is new or has several operations in the request is written operation by operation.
    const together: { operation: PositionOperation; current: InventoryPositionRecord }[] = [];
    const oneByOne: [string, PositionOperation[]][] = [];
    for (const [key, group] of byPosition) {
      const current = loaded.get(key);
      if (current && group.length === 1) together.push({ operation: group[0]!, current });
      else oneByOne.push([key, group]);
    }
    const [written, sequenced] = await Promise.all([
      this.writer.applyMany(ctx, together),
      pMap(
        oneByOne,
        async ([key, group]) => {
          const groupResults: WrittenItem[] = [];
          let current = loaded.get(key) ?? null;
          for (const operation of group) {
            const result = await this.writer.apply(ctx, operation, current);
            groupResults.push(result);
            current = result.position ?? current;
          }
          return groupResults;
        },
        { concurrency: POSITION_CONCURRENCY },
      ),
    ]);
    const results = [...written, ...sequenced.flat()];
    const items: InventoryItemOutcomeRecord[] = results
      .sort((a, b) => a.index - b.index)
      .map((item) => ({ ...item, position: item.position && positionView(item.position) }));
    return { kind: 'batch', items, replayed: false };
  }

  /**
   * Unknown SKUs and locations reject the batch; a location outside a bound key's channels is FORBIDDEN. Reads the
   * positions too (the writes need them): a position that exists proves its SKU does (SKUs are archived, never
   * deleted), so only the SKUs of positions not created yet are read — one round trip fewer for the usual sale.
   * Only a resumed request can find its own operations applied already, so only it reads the positions' recent
   * operations.
   */
  private async checkReferences(ctx: RequestContext, items: readonly { sku: string; location: string }[], scope: OperationScope | null): Promise<{ locations: Map<string, LocationRecord>; positions: Map<string, InventoryPositionRecord> } | ErrorResultValue> {
    const [positionList, locations, allowed] = await Promise.all([
      this.positions.findByKeys([...new Set(items.map((item) => positionKey(item.sku, item.location)))], { recentOps: scope?.resumed === true }),
      this.locations.findByKeys([...new Set(items.map((item) => item.location))]),
      this.allowedLocations(ctx),
    ]);
    const positions = new Map(positionList.map((position) => [position.key, position]));
    const unproven = [...new Set(items.filter((item) => !positions.has(positionKey(item.sku, item.location))).map((item) => item.sku))];
    const knownSkus = new Set([...positionList.map((position) => position.skuCode), ...(await this.skus.findByKeys(unproven)).map((sku) => sku.code)]);
    const byCode = new Map(locations.map((location) => [location.code, location]));
    const issues: InputIssue[] = [
      ...unknownReferences(items, (item) => item.sku, (code) => knownSkus.has(code), ['sku'], 'SKU'),
      ...unknownReferences(items, (item) => item.location, (code) => byCode.has(code), ['location'], 'Location'),
    ];
    if (issues.length > 0) return invalidInput(issues);
    const outside = allowed ? items.find((item) => !allowed.has(item.location)) : undefined;
    if (outside) throw new DomainError('FORBIDDEN', `API key "${ctx.caller.name}" may not change stock at location "${outside.location}": it is outside the key's channels.`);
    return { locations: byCode, positions };
  }

  /** The locations of a bound key's channels; null for an unbound key (every location). */
  private async allowedLocations(ctx: RequestContext): Promise<Set<string> | null> {
    if (ctx.caller.channels.length === 0) return null;
    const channels = await this.channels.findByKeys(ctx.caller.channels);
    return new Set(channels.flatMap((channel) => channel.locationCodes));
  }
}
