import mongoose, { type Connection } from 'mongoose';
import type { CommandStartedEvent } from 'mongodb';
import { OutboxSignal } from './outbox.js';
import { createRepositories, type Repositories } from './repositories/index.js';

export interface StoreOptions {
  readonly uri: string;
  readonly dbName: string;
  /** How long to wait for a reachable server before failing start-up. */
  readonly serverSelectionTimeoutMs?: number;
  /**
   * Called for every command the driver sends (metrics; the N+1 tests count them). Turns the driver's command
   * monitoring on, which copies each command and decodes each reply a second time: leave it unset when not needed.
   */
  readonly onCommand?: (commandName: string) => void;
}

export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 10_000; // 10 seconds

/** The master store: one mongoose connection and the repositories bound to it. */
export interface Store {
  readonly connection: Connection;
  readonly repositories: Repositories;
  /** Raised by every write that leaves an outbox entry; the change relay listens. */
  readonly outboxSignal: OutboxSignal;
  /** True when the server answers a ping; backs /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects, registers every model on a connection of its own (never the global mongoose, so tests can hold
 * several stores) and creates the indexes explicitly, so a missing unique index fails start-up instead of
 * silently admitting duplicates.
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const connection = mongoose.createConnection(options.uri, {
    dbName: options.dbName,
    autoIndex: false,
    autoCreate: false,
    monitorCommands: options.onCommand !== undefined,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
  });
  await connection.asPromise();
  if (options.onCommand) {
    const onCommand = options.onCommand;
    connection.getClient().on('commandStarted', (event: CommandStartedEvent) => onCommand(event.commandName));
  }
  const outboxSignal = new OutboxSignal();
  const repositories = createRepositories(connection, outboxSignal);
  await ensureIndexes(connection);
  return {
    connection,
    repositories,
    outboxSignal,
    async ping() {
      try {
        await connection.db?.command({ ping: 1 });
        return true;
      } catch {
        return false;
      }
    },
    close: () => connection.close(),
  };
}

async function ensureIndexes(connection: Connection): Promise<void> {
  for (const model of Object.values(connection.models)) {
    await model.createCollection().catch((error: unknown) => {
      // 48 NamespaceExists: another replica (or an earlier start) created it first.
      if ((error as { code?: number }).code !== 48) throw error;
    });
    await model.createIndexes();
  }
}
