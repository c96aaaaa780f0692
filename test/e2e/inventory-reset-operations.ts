import { setTimeout as sleep } from 'node:timers/promises';
import { operation, type GraphqlClient } from '../utils/graphql-client.js';
import type { Issue } from './operations.js';

/** Typed operations of the daily inventory reset; result types list only what the tests read. */

export interface ResetJobView {
  id: string;
  state: 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
  phase: 'VALIDATING' | 'APPLYING' | 'ZEROING_ABSENT' | null;
  path: string;
  fileSha256: string;
  asOf: string;
  policy: string;
  absent: string;
  rowsTotal: number | null;
  rowsValidated: number;
  rowsProcessed: number;
  rowsApplied: number;
  rowsUnchanged: number;
  rowsSkipped: number;
  rowsStale: number;
  positionsZeroed: number;
  errorCount: number;
  errors: { line: number | null; column: string | null; code: string; message: string; skuCode: string | null; locationCode: string | null }[];
  staleCount: number;
  stalePositions: { line: number | null; skuCode: string; locationCode: string; reason: string; message: string }[];
  requestedBy: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
}

const JOB = `
  id state phase path fileSha256 asOf policy absent
  rowsTotal rowsValidated rowsProcessed rowsApplied rowsUnchanged rowsSkipped rowsStale positionsZeroed
  errorCount errors { line column code message skuCode locationCode }
  staleCount stalePositions { line skuCode locationCode reason message }
  requestedBy attempts startedAt finishedAt`;

export type ImportResult = ({ __typename: 'InventoryResetJob' } & ResetJobView) | { __typename: 'InvalidInputError'; errorCode: string; issues: Issue[] };

export const importInventory = operation<{ importInventory: ImportResult }, { path: string; asOf: string; policy?: string; absent?: string }>(`
  mutation Import($path: String!, $asOf: DateTime!, $policy: ResetPolicy, $absent: AbsentPositions) {
    importInventory(path: $path, asOf: $asOf, policy: $policy, absent: $absent) {
      __typename
      ... on InventoryResetJob { ${JOB} }
      ... on InvalidInputError { errorCode issues { index path code message } }
    }
  }`);

export const inventoryResetJob = operation<{ inventoryResetJob: ResetJobView | null }, { id: string }>(`
  query ResetJob($id: ID!) { inventoryResetJob(id: $id) { ${JOB} } }`);

/** Starts an import and expects a job (not a typed error). */
export async function startImport(client: GraphqlClient, variables: { path: string; asOf: string; policy?: string; absent?: string }): Promise<ResetJobView> {
  const response = await client(importInventory, variables);
  const result = response.data?.importInventory;
  if (result?.__typename !== 'InventoryResetJob') throw new Error(`expected a job, got ${JSON.stringify(response)}`);
  return result;
}

/**
 * Polls the job until it is COMPLETED or FAILED. Polling is what a client of this API does; the bound keeps a
 * stuck job from hanging the test.
 */
export async function settledJob(client: GraphqlClient, id: string, timeoutMs = 60_000): Promise<ResetJobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await client(inventoryResetJob, { id })).data?.inventoryResetJob;
    if (job && (job.state === 'COMPLETED' || job.state === 'FAILED')) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish within ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await sleep(25);
  }
}

/** When each movement of a position was applied, by reason: to see which sales landed while a job ran. */
export const movementTimes = operation<{ inventoryMovements: { nodes: { reason: string; at: string }[] } }, { sku: string; location: string }>(`
  query MovementTimes($sku: String!, $location: String!) { inventoryMovements(sku: $sku, location: $location, first: 500) { nodes { reason at } } }`);
