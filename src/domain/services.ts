import type { Repositories } from '../store/repositories/index.js';
import type { SubscriptionHub } from '../events/subscription-hub.js';
import { ChangeFeedService } from './changes/change-feed.service.js';
import { ApiKeyService, DEFAULT_API_KEY_OPTIONS, type ApiKeyOptions } from './access/api-key.service.js';
import { ProductService } from './catalog/product.service.js';
import { SkuService } from './catalog/sku.service.js';
import { ChannelService } from './channel/channel.service.js';
import { LocationDirectory } from './channel/location-directory.js';
import { LocationService } from './channel/location.service.js';
import { SkuMappingService } from './channel/sku-mapping.service.js';
import { DEFAULT_IDEMPOTENCY_OPTIONS, IdempotencyService, type IdempotencyOptions } from './common/idempotency.service.js';
import { InventoryService } from './inventory/inventory.service.js';
import { PositionWriter } from './inventory/position-writer.js';
import { DEFAULT_INVENTORY_RESET_OPTIONS, InventoryResetService, type InventoryResetOptions } from './inventory/reset/inventory-reset.service.js';
import { ReservationService, type ReservationOptions } from './inventory/reservation.service.js';
import { PriceListService } from './pricing/price-list.service.js';
import { PriceService } from './pricing/price.service.js';

/** Every domain service, built once per process over the repositories. */
export interface Services {
  readonly products: ProductService;
  readonly skus: SkuService;
  readonly locations: LocationService;
  /** Locations as the stock write paths read them, cached; the gateway drops entries on the change feed's Location events. */
  readonly locationDirectory: LocationDirectory;
  readonly channels: ChannelService;
  readonly skuMappings: SkuMappingService;
  readonly priceLists: PriceListService;
  readonly prices: PriceService;
  readonly apiKeys: ApiKeyService;
  readonly idempotency: IdempotencyService;
  readonly inventory: InventoryService;
  readonly reservations: ReservationService;
  readonly inventoryReset: InventoryResetService;
  readonly changes: ChangeFeedService;
}

export interface ServiceOptions {
  readonly idempotency?: IdempotencyOptions;
  readonly apiKeys?: ApiKeyOptions;
  readonly reservations?: ReservationOptions;
  readonly inventoryReset?: InventoryResetOptions;
  /** How long a replica uses a location it read (LocationDirectory); default 5 s, 0 reads it every time. */
  readonly locationCacheTtlMs?: number;
  /** This process's change streams; null where nothing is served (CLI): subscriptions then fail clearly. */
  readonly changeHub?: SubscriptionHub | null;
}

export const DEFAULT_LOCATION_CACHE_TTL_MS = 5_000; // 5 seconds

/** The one place where services and their default options are wired together. */
export function createServices(repositories: Repositories, options: ServiceOptions = {}): Services {
  const idempotency = new IdempotencyService(repositories.idempotency, options.idempotency ?? DEFAULT_IDEMPOTENCY_OPTIONS);
  const locationDirectory = new LocationDirectory(repositories.locations, { ttlMs: options.locationCacheTtlMs ?? DEFAULT_LOCATION_CACHE_TTL_MS });
  return {
    products: new ProductService(repositories.products, idempotency),
    skus: new SkuService(repositories.skus, repositories.products, idempotency),
    locations: new LocationService(repositories.locations, locationDirectory, idempotency),
    locationDirectory,
    channels: new ChannelService(repositories.channels, repositories.locations, idempotency),
    skuMappings: new SkuMappingService(repositories.skuMappings, repositories.skus, repositories.channels, idempotency),
    priceLists: new PriceListService(repositories.priceLists, repositories.channels, idempotency),
    prices: new PriceService(repositories.prices, repositories.priceHistory, repositories.priceLists, repositories.skus, repositories.channels, idempotency, repositories.changeLog),
    apiKeys: new ApiKeyService(repositories.apiKeys, repositories.channels, options.apiKeys ?? DEFAULT_API_KEY_OPTIONS),
    idempotency,
    inventory: new InventoryService(repositories.inventoryPositions, repositories.inventoryMovements, repositories.skus, locationDirectory, repositories.channels, idempotency, repositories.changeLog),
    reservations: new ReservationService(repositories.reservations, repositories.inventoryPositions, repositories.skus, repositories.channels, new PositionWriter(repositories.inventoryPositions), idempotency, options.reservations ?? { staleAfterMs: (options.idempotency ?? DEFAULT_IDEMPOTENCY_OPTIONS).leaseMs }),
    inventoryReset: new InventoryResetService(
      { jobs: repositories.inventoryResetJobs, positions: repositories.inventoryPositions, movements: repositories.inventoryMovements, changeLog: repositories.changeLog, skus: repositories.skus, locations: repositories.locations },
      options.inventoryReset ?? DEFAULT_INVENTORY_RESET_OPTIONS,
    ),
    changes: new ChangeFeedService(repositories.channels, repositories.changeLog, options.changeHub ?? null),
  };
}
