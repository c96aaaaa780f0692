/** A free-form attribute; lists of them are kept sorted by key so equal maps compare equal. */
export interface Attribute {
  readonly key: string;
  readonly value: string;
}
