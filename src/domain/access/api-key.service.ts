import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { ApiKeyRepository } from '../../store/repositories/api-key.repository.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import { DomainError } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import { codeSchema, textSchema } from '../common/validation.js';
import { SCOPES, type ApiKeySummary, type Caller } from './access.types.js';

const KEY_PREFIX = 'rsg';
const KEY_PATTERN = /^rsg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Enough for every real key of a deployment many times over. */
const AUTH_CACHE_ENTRIES = 10_000;

export interface ApiKeyOptions {
  /**
   * How long an authenticated key is trusted without reading the store again. Revocation takes effect within
   * this time on every replica.
   */
  readonly cacheTtlMs: number;
}

export const DEFAULT_API_KEY_OPTIONS: ApiKeyOptions = { cacheTtlMs: 5_000 }; // 5 seconds

const createKeySchema = z.object({
  name: textSchema(128),
  scopes: z.array(z.enum(SCOPES)).min(1, 'At least one scope is required.'),
  channels: z.array(codeSchema).default([]),
});

export type CreateApiKeyInput = z.input<typeof createKeySchema>;

export interface CreatedApiKey {
  /** The full key: shown once, never stored. */
  readonly key: string;
  readonly summary: ApiKeySummary;
}

/** API keys are stored only as SHA-256 hashes of their secret: keys are random 256-bit values, so a slow hash adds nothing. */
export class ApiKeyService {
  /**
   * Bounded: unknown key ids are cached too (so a flood of random keys costs one read each per TTL), and the
   * bound keeps such a flood from growing memory.
   */
  private readonly cache: LRUCache<string, { readonly caller: Caller | null; readonly secretHash: string | null; readonly until: number }>;

  constructor(
    private readonly apiKeys: ApiKeyRepository,
    private readonly channels: ChannelRepository,
    private readonly options: ApiKeyOptions = DEFAULT_API_KEY_OPTIONS,
  ) {
    this.cache = new LRUCache({ max: AUTH_CACHE_ENTRIES });
  }

  async create(ctx: RequestContext, input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const parsed = createKeySchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DomainError('BAD_USER_INPUT', `Invalid ${issue.path.join('.') || 'input'}: ${issue.message}`);
    }
    const { name, scopes, channels } = parsed.data;
    const known = new Set((await this.channels.findByKeys(channels)).map((channel) => channel.code));
    const unknown = channels.filter((code) => !known.has(code));
    if (unknown.length > 0) throw new DomainError('BAD_USER_INPUT', `Unknown channel(s): ${unknown.join(', ')}.`);

    const keyId = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const summary: ApiKeySummary = { keyId, name, scopes: [...new Set(scopes)], channels: [...new Set(channels)], createdAt: ctx.now, revokedAt: null };
    await this.apiKeys.insert({ ...summary, secretHash: hashSecret(secret) });
    ctx.logger.info({ keyId, name, scopes: summary.scopes, channels: summary.channels }, 'API key created');
    return { key: `${KEY_PREFIX}_${keyId}_${secret}`, summary };
  }

  async list(ctx: RequestContext): Promise<ApiKeySummary[]> {
    return (await this.apiKeys.list()).map(({ secretHash: _hash, ...summary }) => summary);
  }

  async revoke(ctx: RequestContext, keyId: string): Promise<void> {
    if (!(await this.apiKeys.revoke(keyId, ctx.now))) throw new DomainError('NOT_FOUND', `No active API key with id "${keyId}".`);
    this.cache.delete(keyId);
    ctx.logger.info({ keyId }, 'API key revoked');
  }

  /**
   * The caller for a presented key, or null when it is malformed, unknown, revoked or wrong. Never says which:
   * the response to a bad key must not help guess a good one.
   */
  async authenticate(presented: string): Promise<Caller | null> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return null;
    const [, keyId, secret] = match as unknown as [string, string, string];
    const entry = await this.lookup(keyId);
    if (!entry.caller || !entry.secretHash) return null;
    const expected = Buffer.from(entry.secretHash, 'hex');
    const actual = Buffer.from(hashSecret(secret), 'hex');
    return timingSafeEqual(expected, actual) ? entry.caller : null;
  }

  private async lookup(keyId: string) {
    const cached = this.cache.get(keyId);
    if (cached && cached.until > Date.now()) return cached;
    const record = await this.apiKeys.findById(keyId);
    const entry =
      record && record.revokedAt === null
        ? { caller: { keyId, name: record.name, scopes: record.scopes, channels: record.channels }, secretHash: record.secretHash, until: Date.now() + this.options.cacheTtlMs }
        : { caller: null, secretHash: null, until: Date.now() + this.options.cacheTtlMs };
    this.cache.set(keyId, entry);
    return entry;
  }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
