import { z } from 'zod';
import {
  DEFAULT_EMBEDDED_POSTGRES_MAJOR,
  EMBEDDED_POSTGRES_MAJORS,
  type EmbeddedPostgresMajor,
} from '../../src/platform/db/embedded.js';

/** The setting that picks the PostgreSQL major the tests' embedded server runs. */
export const TEST_PG_MAJOR_ENV = 'DBOPS_TEST_PG_MAJOR';

const majorSchema = z
  .string()
  .trim()
  .pipe(z.enum(EMBEDDED_POSTGRES_MAJORS.map(String)))
  .transform((value) => EMBEDDED_POSTGRES_MAJORS.find((major) => String(major) === value) ?? DEFAULT_EMBEDDED_POSTGRES_MAJOR);

/** A setting the tests cannot run with; the message says what is wrong and how to fix it. */
export class TestPgMajorError extends Error {
  override name = 'TestPgMajorError';
}

/**
 * The major of the tests' embedded PostgreSQL: DBOPS_TEST_PG_MAJOR, else 14 (the plan's). With
 * TEST_DATABASE_URL the tests use that server as it is, so naming a major as well is refused
 * rather than silently ignored.
 */
export function readTestPgMajor(env: Record<string, string | undefined>): EmbeddedPostgresMajor {
  const raw = env[TEST_PG_MAJOR_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_EMBEDDED_POSTGRES_MAJOR;
  if (env.TEST_DATABASE_URL) {
    throw new TestPgMajorError(
      `${TEST_PG_MAJOR_ENV}=${raw} picks the embedded server's version, but TEST_DATABASE_URL names a server of its own: unset one of them.`,
    );
  }
  const parsed = majorSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TestPgMajorError(
      `${TEST_PG_MAJOR_ENV}=${JSON.stringify(raw)} is not a PostgreSQL major the tests can start: use one of ${EMBEDDED_POSTGRES_MAJORS.join(', ')} (default ${DEFAULT_EMBEDDED_POSTGRES_MAJOR}).`,
    );
  }
  return parsed.data;
}
