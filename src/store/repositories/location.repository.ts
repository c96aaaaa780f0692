import type { OutboxSignal } from '../outbox.js';
import type { Connection } from 'mongoose';
import type { LocationRecord } from '../../domain/channel/channel.types.js';
import { locationSchema, type LocationDocument } from '../models/location.model.js';
import { VersionedRepository, type DocumentMapper } from './versioned.repository.js';

type StoredLocation = LocationDocument & { _id: string };

const mapper: DocumentMapper<LocationRecord, StoredLocation> = {
  keyOf: (record) => record.code,
  toRecord: ({ _id, ...document }) => ({
    code: _id,
    name: document.name,
    kind: document.kind,
    region: document.region,
    timezone: document.timezone,
    negativeStockPolicy: document.negativeStockPolicy ?? 'REJECT',
    archivedAt: document.archivedAt ?? null,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  }),
  toDocument: ({ code, ...record }) => ({ _id: code, ...record }) as StoredLocation,
};

export class LocationRepository extends VersionedRepository<LocationRecord, StoredLocation> {
  constructor(connection: Connection, signal: OutboxSignal) {
    super(connection.model<StoredLocation>('Location', locationSchema), mapper, signal);
  }

  async listAll(includeArchived: boolean): Promise<LocationRecord[]> {
    const documents = await this.model.find(includeArchived ? {} : { archivedAt: null }).sort({ _id: 1 }).lean<StoredLocation[]>().exec();
    return documents.map(mapper.toRecord);
  }
}
