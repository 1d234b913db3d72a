/**
 * Builds the operator console (src/ui) into dist/ui; `voxgate serve` serves it at /console/.
 * The embeddable widget (src/ui/widget) is built alongside, once the console is written, into
 * <outDir>/widget/voxgate-widget.js: one self-contained IIFE with a fixed name (websites link it by
 * URL, so no hash), served at /widget/voxgate-widget.js.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type LogLevel, type Plugin } from 'vite';

export const WIDGET_FILE = 'widget/voxgate-widget.js';

/**
 * A second build, not a second input: rollup shares the code two inputs have in common as a chunk,
 * and the widget must be one file with nothing to import.
 */
function embeddableWidget(): Plugin {
  let outDir = '';
  let logLevel: LogLevel = 'info';
  let sourcemap: boolean | 'inline' | 'hidden' = false;
  return {
    name: 'voxgate-embeddable-widget',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
      logLevel = config.logLevel;
      sourcemap = config.build.sourcemap;
    },
    async closeBundle() {
      await build({
        configFile: false,
        logLevel,
        build: {
          outDir: join(outDir, 'widget'),
          emptyOutDir: false,
          sourcemap,
          lib: { entry: fileURLToPath(new URL('./src/ui/widget/voxgate-widget.ts', import.meta.url)), name: 'VoxgateWidget', formats: ['iife'], fileName: () => 'voxgate-widget.js' },
        },
      });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('./src/ui', import.meta.url)),
  // Asset URLs are absolute under /console/, where console-routes mounts dist/ui.
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  plugins: [embeddableWidget()],
  build: {
    outDir: fileURLToPath(new URL('./dist/ui', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
  },
});
