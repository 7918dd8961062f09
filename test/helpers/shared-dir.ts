/**
 * `../shared` beside the project root: the corpus and benchmark tools of the project's own machines,
 * which a user's clone never has. Every test, fuzz target and benchmark that reads it finds it here, so
 * that TRACKMILTER_NO_SHARED=1 hides it from all of them at once: CI runs the tests that read it both
 * ways (.ci/run), and a green CI then means a user's `npm test` is green too.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set to 1 to run as if `../shared` were absent. */
export const NO_SHARED_ENV = 'TRACKMILTER_NO_SHARED';

export const SHARED_DIR = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)), 'shared');

export interface SharedPath {
  /** Where it is (or would be). */
  path: string;
  present: boolean;
  /** Why it is not used, in words for a skip message; '' when present. */
  absence: string;
}

function hidden(): boolean {
  const value = process.env[NO_SHARED_ENV];
  return value !== undefined && value !== '' && value !== '0';
}

/** `parts` under ../shared, and whether it can be used. */
export function sharedPath(...parts: string[]): SharedPath {
  const where = path.join(SHARED_DIR, ...parts);
  if (hidden()) return { path: where, present: false, absence: `${where} is hidden (${NO_SHARED_ENV}=1)` };
  if (!existsSync(where)) return { path: where, present: false, absence: `${where} does not exist` };
  return { path: where, present: true, absence: '' };
}
