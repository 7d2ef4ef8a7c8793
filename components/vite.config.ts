import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The browser lab's UI: everything bundled, nothing fetched from the internet at run time. */
export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // The lab (lab serve), and a room's pages (lab room serve): join and board, and a learner's lab with the room's banner.
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        room: fileURLToPath(new URL('./room.html', import.meta.url)),
        'room-lab': fileURLToPath(new URL('./room-lab.html', import.meta.url)),
      },
    },
  },
});
