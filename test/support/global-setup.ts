import type { TestProject } from 'vitest/node';
import { EmbeddedServerError, startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test server's `postgres` database. */
    pgAdminUrl: string;
  }
}

let server: EmbeddedServer | undefined;

/**
 * One real PostgreSQL 14 for the whole run (each test file makes its own database in it), or
 * the server TEST_DATABASE_URL names. Settings mirror the plan where tests depend on them.
 */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('pgAdminUrl', external);
    return;
  }
  try {
    server = await startEmbeddedPostgres({
      settings: {
        max_connections: '300',
        log_statement: 'all',
        log_connections: 'on',
        log_disconnections: 'on',
        track_io_timing: 'on',
      },
    });
  } catch (err) {
    // Its message says what to do; a stack trace from the global setup would only bury it.
    if (err instanceof EmbeddedServerError) {
      process.stderr.write(`\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  project.provide('pgAdminUrl', server.url());
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
