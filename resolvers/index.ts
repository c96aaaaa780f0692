import type { Resolvers } from '../src/generated/graphql.js';
import { changeResolvers } from './changes/change.resolver.js';
import { productEntityResolvers } from './catalog/product-entity.resolver.js';
import { productResolvers } from './catalog/product.resolver.js';
import { skuEntityResolvers } from './catalog/sku-entity.resolver.js';
import { skuResolvers } from './catalog/sku.resolver.js';
import { channelResolvers } from './channel/channel.resolver.js';
import { locationResolvers } from './channel/location.resolver.js';
import { skuMappingResolvers } from './channel/sku-mapping.resolver.js';
import { commonResolvers } from './common/results.resolver.js';
import { inventoryEntityResolvers } from './inventory/inventory-entity.resolver.js';
import { inventoryResolvers } from './inventory/inventory.resolver.js';
import { inventoryResetResolvers } from './inventory/inventory-reset.resolver.js';
import { reservationResolvers } from './inventory/reservation.resolver.js';
import { scalarResolvers } from './common/scalars.resolver.js';
import { viewerResolvers } from './common/viewer.resolver.js';
import { priceEntityResolvers } from './pricing/price-entity.resolver.js';
import { priceListResolvers } from './pricing/price-list.resolver.js';
import { priceResolvers } from './pricing/price.resolver.js';

/** Every resolver map; @graphql-tools merges them by type. */
export const resolvers: Resolvers[] = [
  scalarResolvers as Resolvers,
  commonResolvers as Resolvers,
  viewerResolvers,
  productResolvers,
  productEntityResolvers,
  skuResolvers,
  skuEntityResolvers,
  locationResolvers,
  channelResolvers,
  skuMappingResolvers,
  inventoryResolvers,
  inventoryEntityResolvers,
  inventoryResetResolvers,
  reservationResolvers,
  priceListResolvers,
  priceResolvers,
  priceEntityResolvers,
  changeResolvers,
];
