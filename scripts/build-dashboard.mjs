// Builds the dashboard's browser files into dist/dashboard/: the chart script bundled with uPlot by
// esbuild, its stylesheet and ours. Run by `npm run build`; the result ships in the package, so the
// daemon serves everything itself and a page loads nothing from another origin.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'dashboard');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'ui', 'dashboard', 'charts.ts')],
  outfile: path.join(out, 'dashboard.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  legalComments: 'eof',
  logLevel: 'warning',
});
await copyFile(path.join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), path.join(out, 'uPlot.min.css'));
await copyFile(path.join(root, 'ui', 'dashboard', 'dashboard.css'), path.join(out, 'dashboard.css'));
