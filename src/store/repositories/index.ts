import type { Connection } from 'mongoose';
import type { OutboxSignal } from '../outbox.js';
import { ApiKeyRepository } from './api-key.repository.js';
import { AvailabilityRederivationRepository } from './availability-rederivation.repository.js';
import { ChangeLogRepository } from './change-log.repository.js';
import { ChannelAvailabilityRepository } from './channel-availability.repository.js';
import { ChannelRepository } from './channel.repository.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { InventoryMovementRepository } from './inventory-movement.repository.js';
import { InventoryPositionRepository } from './inventory-position.repository.js';
import { InventoryResetJobRepository } from './inventory-reset-job.repository.js';
import { LocationRepository } from './location.repository.js';
import { PriceHistoryRepository } from './price-history.repository.js';
import { PriceListRepository } from './price-list.repository.js';
import { PriceRepository } from './price.repository.js';
import { ProductRepository } from './product.repository.js';
import { ReservationRepository } from './reservation.repository.js';
import { SkuMappingRepository } from './sku-mapping.repository.js';
import { SkuRepository } from './sku.repository.js';

export interface Repositories {
  readonly products: ProductRepository;
  readonly skus: SkuRepository;
  readonly locations: LocationRepository;
  readonly channels: ChannelRepository;
  readonly skuMappings: SkuMappingRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly idempotency: IdempotencyRepository;
  readonly priceLists: PriceListRepository;
  readonly prices: PriceRepository;
  readonly priceHistory: PriceHistoryRepository;
  readonly inventoryPositions: InventoryPositionRepository;
  readonly inventoryMovements: InventoryMovementRepository;
  readonly inventoryResetJobs: InventoryResetJobRepository;
  readonly reservations: ReservationRepository;
  readonly channelAvailability: ChannelAvailabilityRepository;
  readonly availabilityRederivations: AvailabilityRederivationRepository;
  readonly changeLog: ChangeLogRepository;
}

export function createRepositories(connection: Connection, signal: OutboxSignal): Repositories {
  return {
    products: new ProductRepository(connection, signal),
    skus: new SkuRepository(connection, signal),
    locations: new LocationRepository(connection, signal),
    channels: new ChannelRepository(connection, signal),
    skuMappings: new SkuMappingRepository(connection, signal),
    apiKeys: new ApiKeyRepository(connection),
    idempotency: new IdempotencyRepository(connection),
    priceLists: new PriceListRepository(connection, signal),
    prices: new PriceRepository(connection, signal),
    priceHistory: new PriceHistoryRepository(connection),
    inventoryPositions: new InventoryPositionRepository(connection, signal),
    inventoryMovements: new InventoryMovementRepository(connection),
    inventoryResetJobs: new InventoryResetJobRepository(connection),
    reservations: new ReservationRepository(connection, signal),
    channelAvailability: new ChannelAvailabilityRepository(connection, signal),
    availabilityRederivations: new AvailabilityRederivationRepository(connection),
    changeLog: new ChangeLogRepository(connection),
  };
}
