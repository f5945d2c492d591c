import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.spec.ts', 'e2e/**/*.e2e.ts'],
    exclude: ['node_modules/**', 'dist/**', 'tmp/**'],
    reporters: ['default', './test/summary-reporter.mts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // CI=true turns colours on in Nx's logger (picocolors, chalk): the tests read plain text.
    env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
  },
});
