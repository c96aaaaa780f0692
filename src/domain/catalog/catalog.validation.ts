import { z } from 'zod';
import { attributesSchema, batchSchema, codeSchema, gtinSchema, textSchema } from '../common/validation.js';
import { CATALOG_STATUSES } from './catalog.types.js';

/** Fields left out (or null where a value cannot be cleared) keep their stored value on update. */
const catalogItemFields = {
  code: codeSchema,
  title: textSchema(512).nullish(),
  attributes: attributesSchema.nullish(),
  /** Null clears the tax class. */
  taxClass: codeSchema.nullish(),
  status: z.enum(CATALOG_STATUSES).nullish(),
};

export const productBatchSchema = batchSchema(z.object(catalogItemFields));
export type ProductItem = z.output<typeof productBatchSchema>[number];

export const skuBatchSchema = batchSchema(
  z.object({
    ...catalogItemFields,
    productCode: codeSchema.nullish(),
    barcodes: z
      .array(gtinSchema)
      .max(20, { message: 'At most 20 barcodes.' })
      .nullish(),
  }),
);
export type SkuItem = z.output<typeof skuBatchSchema>[number];

export const codeBatchSchema = batchSchema(codeSchema);
