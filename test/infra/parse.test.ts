import { describe, expect, it } from 'vitest';
import { BICEPPARAM_PLACEHOLDER_TYPE, normalizeBicepParam, parseText, syntaxProblems } from './bicep-tree.js';
import { isBicep, isParamFile, loadSources } from './policy.js';

const sources = loadSources();
const templates = Object.keys(sources).filter((f) => isBicep(f) || isParamFile(f));

describe('tree-sitter-bicep parses every template and parameter file', () => {
  it('finds the templates', () => {
    expect(templates).toContain('infra/bicep/main.bicep');
    expect(templates).toContain('infra/bicep/main.prod.bicepparam');
    expect(templates).toContain('infra/bicep/main.dev.bicepparam');
    expect(templates.filter((f) => f.startsWith('infra/bicep/modules/')).length).toBeGreaterThanOrEqual(9);
  });

  it.each(templates)('%s has no ERROR or MISSING node', async (file) => {
    const tree = await parseText(sources[file] ?? '', isParamFile(file));
    expect(syntaxProblems(tree)).toEqual([]);
  });

  it('reports a syntax error (the check is not vacuous)', async () => {
    const broken = (sources['infra/bicep/modules/budget.bicep'] ?? '').replace("category: 'Cost'", "category: 'Cost' ]");
    expect(syntaxProblems(await parseText(broken, false)).length).toBeGreaterThan(0);
  });

  it('touches only `param <name> =` lines of a .bicepparam file', () => {
    const text = sources['infra/bicep/main.prod.bicepparam'] ?? '';
    const normalized = normalizeBicepParam(text);
    const before = text.split('\n');
    const after = normalized.split('\n');
    expect(after.length).toBe(before.length);
    before.forEach((line, i) => {
      if (/^\s*param\s+\w+\s*=/.test(line)) expect(after[i]).toContain(BICEPPARAM_PLACEHOLDER_TYPE);
      else expect(after[i]).toBe(line);
    });
  });
});
