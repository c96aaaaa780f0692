import type { OutboxSignal } from '../outbox.js';
import type { Connection } from 'mongoose';
import type { ChannelRecord } from '../../domain/channel/channel.types.js';
import { channelSchema, type ChannelDocument } from '../models/channel.model.js';
import { VersionedRepository, type DocumentMapper } from './versioned.repository.js';

type StoredChannel = ChannelDocument & { _id: string };

const mapper: DocumentMapper<ChannelRecord, StoredChannel> = {
  keyOf: (record) => record.code,
  toRecord: ({ _id, ...document }) => ({
    code: _id,
    name: document.name,
    kind: document.kind,
    currency: document.currency,
    region: document.region,
    locationCodes: [...document.locationCodes],
    inventoryBuffer: document.inventoryBuffer ?? 0,
    archivedAt: document.archivedAt ?? null,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  }),
  toDocument: ({ code, ...record }) => ({ _id: code, ...record, locationCodes: [...record.locationCodes] }) as StoredChannel,
};

export class ChannelRepository extends VersionedRepository<ChannelRecord, StoredChannel> {
  constructor(connection: Connection, signal: OutboxSignal) {
    super(connection.model<StoredChannel>('Channel', channelSchema), mapper, signal);
  }

  /** Channels ordered by code; `codes` limits the list (a bound API key's channels). */
  async listAll(includeArchived: boolean, codes: readonly string[] | null): Promise<ChannelRecord[]> {
    const query: Record<string, unknown> = includeArchived ? {} : { archivedAt: null };
    if (codes) query['_id'] = { $in: [...codes] };
    const documents = await this.model.find(query).sort({ _id: 1 }).lean<StoredChannel[]>().exec();
    return documents.map(mapper.toRecord);
  }
}
