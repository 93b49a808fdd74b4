import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // The Datastore client looks for Google's metadata server, which the emulator tests do not need.
    env: { METADATA_SERVER_DETECTION: 'none' },
  },
});
