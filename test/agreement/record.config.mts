import { defineConfig } from 'vitest/config';

// The recording run of the agreement test: our validate tests, with every rule call recorded.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['lib/repository/rules/*.spec.ts', 'lib/repository/validate-repository.int.spec.ts', 'cli/validate.spec.ts'],
    setupFiles: ['test/agreement/record.setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
