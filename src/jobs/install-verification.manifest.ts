import type { JobManifest } from '../shared/job.js';

/** What the Function App needs to register this job without loading it: name, purpose, schedules. */
export const manifest: JobManifest = {
  name: 'install-verification',
  title: 'Install verification',
  description: 'Checks schema, tables, indexes, partitions, roles, grants, extensions and server settings against the installation plan (section 10.1), and the support dates of the PostgreSQL major (Azure, community).',
  schedules: [],
};
