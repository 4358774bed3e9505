import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A planted failure that .ci/run uses to prove a failing test fails the run.
    exclude: [...configDefaults.exclude, 'test/ci-self-check/**'],
    globalSetup: ['test/support/global-setup.ts', 'test/support/azure-tls-global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
