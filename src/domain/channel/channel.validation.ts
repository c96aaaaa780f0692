import { z } from 'zod';
import { batchSchema, codeSchema, currencySchema, externalIdSchema, regionSchema, textSchema, timezoneSchema } from '../common/validation.js';
import { CHANNEL_KINDS, LOCATION_KINDS, NEGATIVE_STOCK_POLICIES } from './channel.types.js';

export const locationBatchSchema = batchSchema(
  z.object({
    code: codeSchema,
    name: textSchema(256).nullish(),
    kind: z.enum(LOCATION_KINDS).nullish(),
    region: regionSchema.nullish(),
    timezone: timezoneSchema.nullish(),
    negativeStockPolicy: z.enum(NEGATIVE_STOCK_POLICIES).nullish(),
  }),
);
export type LocationItem = z.output<typeof locationBatchSchema>[number];

export const channelBatchSchema = batchSchema(
  z.object({
    code: codeSchema,
    name: textSchema(256).nullish(),
    kind: z.enum(CHANNEL_KINDS).nullish(),
    currency: currencySchema.nullish(),
    region: regionSchema.nullish(),
    locationCodes: z
      .array(codeSchema)
      .max(1000, { message: 'At most 1,000 locations.' })
      .nullish(),
    inventoryBuffer: z.number().int().min(0).max(1_000_000_000, { message: 'At most 1,000,000,000.' }).nullish(),
  }),
);
export type ChannelItem = z.output<typeof channelBatchSchema>[number];

export const skuMappingBatchSchema = batchSchema(
  z.object({
    skuCode: codeSchema,
    externalVariantId: externalIdSchema,
    externalProductId: externalIdSchema.nullish(),
    externalInventoryItemId: externalIdSchema.nullish(),
  }),
);
export type SkuMappingItem = z.output<typeof skuMappingBatchSchema>[number];
