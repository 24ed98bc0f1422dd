// `npm run test:pg-restart`: the tests that restart the machine's PostgreSQL. They break every
// other test's connections, so they run alone, after the main suite (.ci/run), never in it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/pg-restart/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
