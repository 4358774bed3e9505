import { join } from 'node:path';

/** The official Azure payloads the tests and the emulator are checked against (see its SOURCES.md). */
export const azureExamplesDir = join(import.meta.dirname, '..', 'fixtures', 'azure-examples');
