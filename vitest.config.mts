import { defineConfig } from 'vitest/config';

/**
 * Three lanes (test/lane.ts): `npm run test:unit` runs with `npm ci` alone; `integration` and `e2e`
 * need the real peers (.venv's torch and tritonserver, Debian's torch 1.13 and protoc, the built
 * package, fresh Nx workspaces). `npm test` runs all three.
 */
const shared = ['node_modules/**', 'dist/**', 'tmp/**'];

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.mts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // CI=true turns colours on in Nx's logger (picocolors, chalk): the tests read plain text.
    env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['**/*.spec.ts'], exclude: [...shared, '**/*.int.spec.ts'], env: { NX_TRITON_TEST_LANE: 'unit' } },
      },
      { extends: true, test: { name: 'integration', include: ['**/*.int.spec.ts'], exclude: shared } },
      { extends: true, test: { name: 'e2e', include: ['e2e/**/*.e2e.ts'], exclude: shared } },
    ],
  },
});
