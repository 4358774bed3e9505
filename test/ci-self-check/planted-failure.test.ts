import { expect, it } from 'vitest';

// .ci/run runs this file first and stops unless vitest exits non-zero: a test run that cannot
// fail proves nothing. It runs with the normal global setup, so the embedded server is loaded.
it('fails on purpose, to prove that a failing test fails the run', () => {
  expect(1 + 1).toBe(3);
});
