// `trackmilter rewrite FILE`: what a message becomes, offline, without a running daemon.
import { readFile } from 'node:fs/promises';
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { loadConfig } from '../config/load.js';
import { loadKeyring } from '../tokens/index.js';
import { splitMessage, toCrlf } from '../mime/message-split.js';
import { prepareTracking } from '../tracking/tracking-filter.js';
import type { RewrittenLink } from '../rewrite/types.js';
import type { HeaderField } from '../milter/commands.js';
import type { HeaderChange } from '../milter/filter.js';

export const REWRITE_HELP = `Usage: trackmilter rewrite FILE [--links] [--from ADDR] [--rcpt ADDR]... [--config FILE] [--data DIR]

Prints the message in FILE as trackmilter would deliver it (control headers removed, links rewritten,
open pixel inserted, X-Mailer-Info-Extra added), without a running daemon. With --links, prints a table
of the links instead: position, part (h = html, t = text), original URL, new URL, link name.
Links are signed with the keys in the data directory (created there if missing). Nothing is stored:
stateful links shown here do not resolve; stateless ones do.
  --from ADDR   envelope sender (default: the From header's address); picks the sender domain's tracking domain
  --rcpt ADDR   envelope recipient, repeatable (default: the To header's address)
`;

export async function rewriteCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    argv,
    { ...COMMON_OPTIONS, links: { type: 'boolean' }, from: { type: 'string' }, rcpt: { type: 'string', multiple: true } },
    true,
  );
  if (values.help || positionals.length !== 1) {
    process.stdout.write(REWRITE_HELP);
    return values.help ? 0 : 2;
  }
  const config = await loadConfig(values.config, flagOverrides(values));
  const keyring = await loadKeyring(config['data.dir']);
  const raw = await readFile(positionals[0]!);
  const { headers, body } = splitMessage(raw);
  const address = (name: string): string => {
    const value = headers.find((h) => h.name.toLowerCase() === name)?.value ?? '';
    return /<([^>]*)>/.exec(value)?.[1] ?? value.trim();
  };
  const envelope = (a: string) => ({ address: a, args: [] });
  const outcome = prepareTracking(
    {
      headers,
      body,
      queueId: 'REWRITE',
      from: envelope(values.from ?? address('from')),
      recipients: (values.rcpt ?? [address('to')]).map(envelope),
    },
    config,
    keyring,
  );
  if (outcome.kind === 'reject') {
    process.stderr.write(`refused: ${outcome.reply} (${outcome.detail})\n`);
    return 1;
  }
  if (outcome.kind === 'skip') process.stderr.write(`passed unchanged: ${outcome.reason}: ${outcome.detail}\n`);
  for (const hit of outcome.kind === 'track' ? outcome.plan.limitsHit : []) {
    process.stderr.write(
      `link limit: ${hit.found} trackable links in the ${hit.part} part; the first ${hit.maxLinks} tracked, the rest left as they are (rewrite.max_links)\n`,
    );
  }
  const links = outcome.kind === 'track' ? outcome.plan.links : [];
  const newBody = (outcome.kind === 'track' && outcome.plan.body) || body;
  const lf = !raw.includes('\r\n');
  process.stdout.write(values.links ? linksTable(links) : renderMessage(applyHeaderChanges(headers, outcome.headerChanges), newBody, lf));
  return 0;
}

function linksTable(links: RewrittenLink[]): string {
  const rows = links.map((l) => [String(l.position), l.part, l.url, l.newUrl, l.linkName ?? ''].join('\t'));
  return ['position\tpart\toriginal\tnew\tname', ...rows].join('\n') + '\n';
}

function applyHeaderChanges(headers: HeaderField[], changes: HeaderChange[]): HeaderField[] {
  const out = headers.map((h) => ({ ...h }));
  for (const c of changes) {
    if (c.op === 'add') out.push({ name: c.name, value: c.value });
    else if (c.op === 'insert') out.splice(c.index, 0, { name: c.name, value: c.value });
    else {
      const matches = out.filter((h) => h.name.toLowerCase() === c.name.toLowerCase());
      const target = matches[c.index - 1];
      if (!target) out.push({ name: c.name, value: c.value });
      else if (c.value === '') out.splice(out.indexOf(target), 1);
      else target.value = c.value;
    }
  }
  return out;
}

function renderMessage(headers: HeaderField[], body: Buffer, lf: boolean): Buffer {
  const head = headers.map((h) => `${h.name}: ${h.value.replace(/\r?\n/g, '\r\n')}\r\n`).join('') + '\r\n';
  const whole = Buffer.concat([Buffer.from(head, 'latin1'), toCrlf(body)]);
  return lf ? Buffer.from(whole.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : whole;
}
