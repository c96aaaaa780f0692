import type { Connection } from 'mongoose';
import { ApiKeyRepository } from './api-key.repository.js';
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
}

export function createRepositories(connection: Connection): Repositories {
  return {
    products: new ProductRepository(connection),
    skus: new SkuRepository(connection),
    locations: new LocationRepository(connection),
    channels: new ChannelRepository(connection),
    skuMappings: new SkuMappingRepository(connection),
    apiKeys: new ApiKeyRepository(connection),
    idempotency: new IdempotencyRepository(connection),
    priceLists: new PriceListRepository(connection),
    prices: new PriceRepository(connection),
    priceHistory: new PriceHistoryRepository(connection),
    inventoryPositions: new InventoryPositionRepository(connection),
    inventoryMovements: new InventoryMovementRepository(connection),
    inventoryResetJobs: new InventoryResetJobRepository(connection),
    reservations: new ReservationRepository(connection),
  };
}
