import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// Only the planted failure, with the suite's own global setup (embedded PostgreSQL and the Azure
// stand-in), so that anything they load which could swallow the exit code is loaded here too.
export default defineConfig({
  test: { ...base.test, include: ['test/ci-self-check/**/*.test.ts'], exclude: [] },
});
