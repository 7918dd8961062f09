/**
 * The built modules (`npm run build`, dist/): the code `trackmilter` itself runs. A bench that imports
 * src/ runs it through tsx's esbuild transform instead, which adds helpers of its own to hot paths
 * (keepNames wraps every closure a function creates in a `__name` call).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('../../dist/', import.meta.url);

/**
 * The built twin of src/<modulePath> (a `.js` path under src/), typed as its source; from another
 * build's dist/ when `dist` names one (a directory URL).
 */
export async function built<T>(modulePath: string, dist: URL = DIST): Promise<T> {
  const url = new URL(modulePath, dist);
  if (!existsSync(fileURLToPath(url))) throw new Error(`${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  return (await import(url.href)) as T;
}
