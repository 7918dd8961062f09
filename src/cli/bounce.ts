// `trackmilter bounce`: one bounce or complaint on stdin, for a Postfix pipe transport.
// Exit 0 when recorded or not ours; 75 (EX_TEMPFAIL) whenever it could not be recorded, so that
// Postfix keeps the message and retries: a bounce is never dropped.
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { loadConfig } from '../config/load.js';
import { adminRequest, expectJson } from './admin-client.js';
import type { IntakeOutcome } from '../bounce/intake.js';
import { errorMessage } from '../util/errors.js';

const EX_TEMPFAIL = 75;
const MAX_REPORT_BYTES = 25 * 1024 * 1024;

export const BOUNCE_HELP = `Usage: trackmilter bounce [--config FILE] [--http HOST:PORT] [--data DIR] < message

Reads one bounce (DSN), complaint (ARF) or non-standard bounce on stdin and records it through the
running daemon, found from the same config and flags as 'serve'. Exit 0: recorded, or not ours (no
valid X-Mailer-Info-Extra in it), or not a report; exit 75 (EX_TEMPFAIL): not recorded this time
(daemon unreachable, store error), so Postfix keeps the message and retries. For a master.cf pipe
transport: see postfix-examples/master.cf.example.
`;

export async function bounceCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, COMMON_OPTIONS);
  if (values.help) {
    process.stdout.write(BOUNCE_HELP);
    return 0;
  }
  try {
    const config = await loadConfig(values.config, flagOverrides(values));
    const raw = await readStdin(MAX_REPORT_BYTES);
    const outcome = expectJson<IntakeOutcome>(await adminRequest(config, '/admin/bounce', { method: 'POST', body: raw, timeoutMs: 60_000 }));
    process.stderr.write(`trackmilter bounce: ${outcome.kind}${outcome.reason ? ` (${outcome.reason})` : ''}, ${outcome.recorded} recorded\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`trackmilter bounce: not recorded, Postfix will retry: ${errorMessage(err)}\n`);
    return EX_TEMPFAIL;
  }
}

async function readStdin(max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    // An oversized "bounce" is still recorded by its start: the headers we need come first.
    if (size > max) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).subarray(0, max);
}
