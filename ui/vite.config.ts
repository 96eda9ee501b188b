import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// The UI lives in ui/; every path below is relative to this folder, whatever
// directory the npm scripts are started from.
const root = fileURLToPath(new URL('.', import.meta.url));
const testing = process.env.VITEST !== undefined;

export default defineConfig({
  root,
  plugins: [svelte({ configFile: false })],
  // Svelte 5 must resolve its browser build under jsdom, not the server one.
  resolve: testing ? { conditions: ['browser'] } : undefined,
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  test: {
    root,
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test-setup.ts'],
  },
});
