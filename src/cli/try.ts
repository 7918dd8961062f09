// `trackmilter try FILE`: run a message file through a running milter and show what it changed.
import { readFile } from 'node:fs/promises';
import { parseCommand } from './args.js';
import { loadConfig } from '../config/load.js';
import { MilterClient } from '../milter/client.js';
import { splitMessage, toCrlf } from '../mime/message-split.js';
import { parseSocketSpec } from '../milter/address.js';
import type { MessageResult } from '../milter/client.js';

export const TRY_HELP = `Usage: trackmilter try FILE [--milter SOCKET] [--from ADDR] [--rcpt ADDR]... [--body] [--config FILE]

Sends the message in FILE through a running milter, as an MTA would, and prints what the milter
changed: header changes, recipients removed, whether the body was replaced (and how), and the verdict.
  --milter SOCKET   the milter to talk to (default: milter.listen from the config, inet:127.0.0.1:8899)
  --from ADDR       envelope sender (default sender@example.com)
  --rcpt ADDR       envelope recipient, repeatable (default recipient@example.net)
  --body            print the new body after the summary
`;

const VERDICTS: Record<string, string> = {
  c: 'accept (continue)',
  a: 'accept',
  r: 'reject',
  t: 'tempfail',
  d: 'discard',
  y: 'reply code',
};

export async function tryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    {
      milter: { type: 'string' },
      config: { type: 'string' },
      from: { type: 'string' },
      rcpt: { type: 'string', multiple: true },
      body: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help || positionals.length !== 1) {
    process.stdout.write(TRY_HELP);
    return values.help ? 0 : 2;
  }
  const config = await loadConfig(values.config, {});
  const spec = parseSocketSpec(values.milter ?? config['milter.listen']);
  const raw = toCrlf(await readFile(positionals[0]!));
  const { headers, body } = splitMessage(raw);

  const client = await MilterClient.connect(spec);
  try {
    await client.negotiate();
    const queueId = 'TRY' + Date.now().toString(36).toUpperCase();
    const result = await client.sendMessage({
      connect: { hostname: 'localhost', family: 'inet', port: 25, address: '127.0.0.1' },
      helo: 'localhost',
      from: values.from ?? 'sender@example.com',
      recipients: values.rcpt ?? ['recipient@example.net'],
      headers,
      body,
      macros: { T: { i: queueId }, E: { i: queueId } },
    });
    process.stdout.write(describeResult(result, body));
    if (values.body && result.body) process.stdout.write(`\n${result.body.toString('latin1')}`);
  } finally {
    await client.quit();
  }
  return 0;
}

function describeResult(result: MessageResult, originalBody: Buffer): string {
  const lines: string[] = [];
  lines.push(`verdict: ${VERDICTS[result.verdict] ?? result.verdict}${result.replyText ? ` "${result.replyText}"` : ''}`);
  for (const h of result.headerChanges) {
    if (h.op === 'add') lines.push(`header added: ${h.name}: ${h.value}`);
    else if (h.op === 'insert') lines.push(`header inserted at ${h.index}: ${h.name}: ${h.value}`);
    else if (h.value === '') lines.push(`header removed: ${h.name} (#${h.index})`);
    else lines.push(`header changed: ${h.name} (#${h.index}): ${h.value}`);
  }
  for (const r of result.recipientsRemoved) lines.push(`recipient removed: ${r} (unsubscribed from the list)`);
  if (!result.body) lines.push('body: not replaced');
  else if (result.body.equals(originalBody)) lines.push(`body: replaced with identical content (${result.body.length} bytes, ${result.replbodyChunks} chunks)`);
  else lines.push(`body: rewritten, ${originalBody.length} -> ${result.body.length} bytes (${result.replbodyChunks} chunks)`);
  return lines.join('\n') + '\n';
}
