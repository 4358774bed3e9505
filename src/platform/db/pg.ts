import { createRequire } from 'node:module';
import type PgModule from 'pg';

let loaded: typeof PgModule | undefined;

/**
 * node-postgres, loaded on first use: a Function App cold start registers every function
 * without paying for it (`npm run bench -- coldstart`). pg is CommonJS, so a synchronous
 * require serves the synchronous callers (createPool).
 */
export function pgModule(): typeof PgModule {
  loaded ??= createRequire(import.meta.url)('pg') as typeof PgModule;
  return loaded;
}
