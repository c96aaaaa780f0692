import type { Connection, Model } from 'mongoose';
import type { ApiKeyRecord, Scope } from '../../domain/access/access.types.js';
import { apiKeySchema, type ApiKeyDocument } from '../models/api-key.model.js';

type StoredApiKey = ApiKeyDocument & { _id: string };

function toRecord({ _id, ...document }: StoredApiKey): ApiKeyRecord {
  return {
    keyId: _id,
    name: document.name,
    scopes: document.scopes as Scope[],
    channels: [...document.channels],
    secretHash: document.secretHash,
    createdAt: document.createdAt,
    revokedAt: document.revokedAt ?? null,
  };
}

export class ApiKeyRepository {
  private readonly model: Model<StoredApiKey>;

  constructor(connection: Connection) {
    this.model = connection.model<StoredApiKey>('ApiKey', apiKeySchema);
  }

  async insert(record: ApiKeyRecord): Promise<void> {
    const { keyId, ...rest } = record;
    await this.model.create({ _id: keyId, ...rest, scopes: [...rest.scopes], channels: [...rest.channels] });
  }

  async findById(keyId: string): Promise<ApiKeyRecord | null> {
    const document = await this.model.findById(keyId).lean<StoredApiKey>().exec();
    return document ? toRecord(document) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const documents = await this.model.find({}).sort({ createdAt: 1 }).lean<StoredApiKey[]>().exec();
    return documents.map(toRecord);
  }

  /** Resolves false when the key does not exist or was already revoked. */
  async revoke(keyId: string, at: Date): Promise<boolean> {
    const result = await this.model.updateOne({ _id: keyId, revokedAt: null }, { $set: { revokedAt: at } }).exec();
    return result.modifiedCount === 1;
  }

  async count(): Promise<number> {
    return this.model.estimatedDocumentCount().exec();
  }
}
