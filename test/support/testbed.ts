import { afterAll, beforeAll } from 'vitest';
import type { JobServices } from '../../src/shared/job.js';
import type { RunnerDeps } from '../../src/shared/runner/run-job.js';
import type { Env } from '../../src/platform/settings.js';
import { startAzureEmulator, type AzureEmulator } from '../../src/local-azure/index.js';
import { createTestDatabase, testDeps, type TestDatabase } from './db.js';

export interface AzureTestbed {
  db: TestDatabase;
  emu: AzureEmulator;
  /** Runner dependencies on the test database with the emulator's Azure settings and clients. */
  deps(env?: Env, services?: JobServices): RunnerDeps;
}

/**
 * A test file's own database and Azure emulator, made before its tests and removed after;
 * `beforeDrop` cleans up what the database cannot take with it (cluster-wide roles).
 */
export function useAzureTestbed(options: { beforeDrop?: (db: TestDatabase) => Promise<void> } = {}): AzureTestbed {
  const bed = {
    deps: (env: Env = {}, services: JobServices = {}) => testDeps(bed.db, { env: { ...bed.emu.env, ...env }, services: { azure: bed.emu.services(), ...services } }),
  } as AzureTestbed;
  beforeAll(async () => {
    bed.db = await createTestDatabase();
    bed.emu = await startAzureEmulator();
  });
  afterAll(async () => {
    if (bed.db) await options.beforeDrop?.(bed.db);
    await bed.emu?.close();
    await bed.db?.drop();
  });
  return bed;
}
