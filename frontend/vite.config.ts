/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The portal that `npm run dev` proxies /api to (make run's by default),
// so the dev server is same-origin like production.
const portal = process.env.RESAYIL_PORTAL_URL ?? 'http://127.0.0.1:8081';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    target: 'es2022',
    // The manifest lets scripts/bundle-budget.mjs find what the landing
    // page loads first.
    manifest: true,
    // Never inline assets as data: URIs: the portal's CSP allows fonts
    // only from 'self'.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': { target: portal } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/testing/setup.ts'],
    // Two cores are shared with the Go tests: keep the pool small.
    maxWorkers: 2,
    testTimeout: 20_000,
    css: false,
  },
});
