import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');
/** The names `azd env set NAME …` sets, in order. */
const envSets = (text: string) => [...text.matchAll(/azd env set (\w+)/g)].map((m) => m[1]);

describe('azd hooks', () => {
  it('every hook in azure.yaml runs on Linux/macOS (posix) and on Windows (pwsh)', () => {
    const hooks = read('azure.yaml').split('\nhooks:\n')[1] ?? '';
    const names = [...hooks.matchAll(/^ {2}(\w+):$/gm)].map((m) => m[1]);
    expect(names).toEqual(['postprovision', 'postdeploy']);
    for (const name of names) {
      const block = hooks.split(new RegExp(`^ {2}${name}:$`, 'm'))[1]!.split(/^ {2}\w+:$/m)[0]!;
      expect(block, name).toMatch(/^ {4}posix:$/m);
      expect(block, name).toMatch(/^ {4}windows:\n {6}shell: pwsh$/m);
    }
  });

  it('the postprovision scripts for both shells record the same azd values', () => {
    const sh = envSets(read('scripts/azd-postprovision.sh'));
    expect(sh).toEqual(['DBOPS_SERVER_EXISTS', 'DBOPS_REPLICA_EXISTS']);
    expect(envSets(read('scripts/azd-postprovision.ps1'))).toEqual(sh);
    // What they record is what the parameter files read.
    for (const name of sh) expect(read('infra/bicep/main.bicepparam')).toContain(`readEnvironmentVariable('${name}'`);
  });
});
