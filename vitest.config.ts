import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // They restart PostgreSQL under every other test: `npm run test:pg-restart`, alone.
    exclude: [...configDefaults.exclude, 'test/pg-restart/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
