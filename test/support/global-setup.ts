import type { TestProject } from 'vitest/node';
import {
  DEFAULT_EMBEDDED_POSTGRES_MAJOR,
  EmbeddedServerError,
  startEmbeddedPostgres,
  type EmbeddedPostgresMajor,
  type EmbeddedServer,
} from '../../src/platform/db/embedded.js';
import { readTestPgMajor, TEST_PG_MAJOR_ENV, TestPgMajorError } from './pg-major.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test server's `postgres` database. */
    pgAdminUrl: string;
    /** The PostgreSQL major of the run (DBOPS_TEST_PG_MAJOR): servers a test starts itself run it too. */
    pgMajor: EmbeddedPostgresMajor;
  }
}

let server: EmbeddedServer | undefined;

function exitWith(message: string): never {
  // The message says what to do; a stack trace from the global setup would only bury it.
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
}

function testPgMajor(): EmbeddedPostgresMajor {
  try {
    return readTestPgMajor(process.env);
  } catch (err) {
    if (err instanceof TestPgMajorError) exitWith(err.message);
    throw err;
  }
}

/**
 * One real PostgreSQL for the whole run (each test file makes its own database in it): 14, or
 * the major DBOPS_TEST_PG_MAJOR names (15 to 18), or the server TEST_DATABASE_URL names.
 * Settings mirror the plan where tests depend on them.
 */
export async function setup(project: TestProject): Promise<void> {
  const major = testPgMajor();
  project.provide('pgMajor', major);
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('pgAdminUrl', external);
    return;
  }
  try {
    server = await startEmbeddedPostgres({
      major,
      settings: {
        max_connections: '300',
        log_statement: 'all',
        log_connections: 'on',
        log_disconnections: 'on',
        track_io_timing: 'on',
      },
    });
  } catch (err) {
    if (err instanceof EmbeddedServerError) exitWith(err.message);
    throw err;
  }
  if (major !== DEFAULT_EMBEDDED_POSTGRES_MAJOR) process.stdout.write(`tests run on embedded PostgreSQL ${major} (${TEST_PG_MAJOR_ENV})\n`);
  project.provide('pgAdminUrl', server.url());
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
