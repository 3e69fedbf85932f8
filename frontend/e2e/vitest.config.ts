import { defineConfig } from 'vitest/config';

// The browser tests: node, one file at a time, against the real stack.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['e2e/**/*.spec.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 240_000,
  },
});
