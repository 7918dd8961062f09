/** The message bench:mta and bench:mta-variants send. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildNewsletter, messageData } from '../../test/app/helpers/newsletter.js';
import { sharedPath } from '../../test/helpers/shared-dir.js';

const execFileAsync = promisify(execFile);

/**
 * The newsletter of ../shared/bench/make-newsletter.py with `links` links when ../shared is beside the
 * project (the figures in the issues were measured with it), otherwise our own test newsletter; says
 * which on the console, under `bench`'s name.
 */
export async function benchNewsletter(bench: string, links: number): Promise<Buffer> {
  const script = sharedPath('bench', 'make-newsletter.py');
  if (script.present) {
    const { stdout } = await execFileAsync('python3', [script.path, String(links)], { maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' });
    return stdout;
  }
  console.log(`${bench}: ${script.absence}; sending our own test newsletter (test/app/helpers/newsletter.ts) instead`);
  return messageData(buildNewsletter());
}
