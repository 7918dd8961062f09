/**
 * A real headless Chromium (Debian's `chromium` package, installed by .ci/run) driven by playwright-core
 * over CDP. Never downloads a browser: without /usr/bin/chromium (or TRACKMILTER_CHROMIUM) the tests
 * that need it say so and are skipped.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.TRACKMILTER_CHROMIUM ?? '/usr/bin/chromium';

/** Why no browser can run, or undefined when it can. */
export function chromiumUnavailableReason(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing: apt-get install chromium (as .ci/run does) to run the dashboard's browser tests`;
}

/** Screenshots kept as CI artifacts (README, "Development"). */
export const ARTIFACTS_DIR = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'), '.tmp', 'artifacts', 'dashboard');

/**
 * Chromium with nothing that talks to the network by itself. playwright-core's launch() gives it a
 * fresh --user-data-dir of its own (and refuses one in args), removed when the browser closes.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}
