export const SCOPES = [
  'catalog:read',
  'catalog:write',
  'inventory:read',
  'inventory:write',
  'prices:write',
  'sync:admin',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Who is calling: the authenticated API key, as every service sees it through `ctx.caller`. */
export interface Caller {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Channel codes the key is bound to; empty means every channel. */
  readonly channels: readonly string[];
}

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly channels: readonly string[];
  /** SHA-256 of the secret part; the secret itself is shown once, at creation, and never stored. */
  readonly secretHash: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** An API key as listed to administrators: everything but the hash. */
export type ApiKeySummary = Omit<ApiKeyRecord, 'secretHash'>;
