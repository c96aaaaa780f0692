import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/utils/global-setup.ts'],
    // e2e files start gateway processes and the JVM store: generous, but bounded.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: one file per core keeps process-spawning e2e files from starving each other.
    maxWorkers: 2,
  },
});
