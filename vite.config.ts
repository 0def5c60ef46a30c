import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer only. Relative asset URLs ('./') let the desktop app load it from file://.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../out/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    // mermaid's chunks (over 500 kB) load only when a preview is first shown.
    chunkSizeWarningLimit: 4096,
  },
});
