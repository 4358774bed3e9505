import { jobs } from './jobs/index.js';
import { azureSettings } from './platform/azure/settings.js';
import { coreSettings } from './shared/config.js';
import { z } from 'zod';
import type { SettingSpec } from './platform/settings.js';
import { notifySettings } from './notify/settings.js';
import { httpApiSettings } from './functions/production-approval.js';

export interface CatalogEntry {
  group: string;
  spec: SettingSpec;
}

/** Settings of the shared modules (database and runner, Azure, alerts); a new shared module adds its group here. */
const sharedGroups: Array<[string, Record<string, SettingSpec>]> = [
  ['database and runner', coreSettings],
  ['azure', azureSettings],
  ['alerts', notifySettings],
  ['http api', httpApiSettings],
];

/** Every setting dbops reads, once each, grouped; schedules included. */
export function settingsCatalog(): CatalogEntry[] {
  const seen = new Set<string>();
  const out: CatalogEntry[] = [];
  const add = (group: string, spec: SettingSpec) => {
    if (seen.has(spec.env)) return;
    seen.add(spec.env);
    out.push({ group, spec });
  };
  for (const [group, specs] of sharedGroups) for (const spec of Object.values(specs)) add(group, spec);
  for (const job of jobs) {
    for (const spec of Object.values(job.settings ?? {})) add(job.name, spec);
    for (const schedule of job.schedules) {
      add(job.name, {
        env: schedule.setting,
        doc: `Schedule (NCRONTAB, UTC): ${schedule.description}`,
        default: schedule.default,
        schema: z.string(),
      });
    }
  }
  return out;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The settings table of docs/settings.md (between the settings markers). */
export function settingsMarkdown(): string {
  const rows = settingsCatalog().map(
    ({ group, spec }) =>
      `| \`${spec.env}\` | ${spec.default !== undefined ? `\`${escapeCell(spec.default)}\`` : '—'} | ${group} | ${escapeCell(spec.doc)}${spec.secret ? ' **Secret**: use a Key Vault reference in Azure.' : ''}${spec.plan ? ` (plan ${spec.plan})` : ''} |`,
  );
  return ['| setting | default | used by | what it is for |', '|---|---|---|---|', ...rows].join('\n');
}

/** local.settings.sample.json: every setting with its default or an example, no real secret. */
export function sampleSettings(): Record<string, unknown> {
  const values: Record<string, string> = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    FUNCTIONS_WORKER_RUNTIME: 'node',
  };
  for (const { spec } of settingsCatalog()) values[spec.env] = spec.default ?? spec.example ?? '';
  return { IsEncrypted: false, Values: values };
}
