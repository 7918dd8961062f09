// `trackmilter rewrite FILE`: what a message becomes, offline, without a running daemon.
import { readFile } from 'node:fs/promises';
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { createMinter, rewriteSettings } from '../filter/settings.js';
import { loadConfig } from '../config/load.js';
import { loadOrCreateKey } from '../links/key-file.js';
import { splitMessage, toCrlf } from '../milter/client.js';
import { planRewrite, type RewritePlan } from '../filter/plan-rewrite.js';
import type { HeaderField } from '../milter/commands.js';
import type { HeaderChange } from '../milter/filter.js';

export const REWRITE_HELP = `Usage: trackmilter rewrite FILE [--links] [--config FILE] [--data DIR]

Prints the message in FILE as trackmilter would deliver it (links rewritten, open pixel inserted),
without a running daemon. With --links, prints a table of the links instead:
position, part (h = html, t = text), original URL, new URL, link name.
Links are signed with the key in the data directory (created there if missing).
`;

export async function rewriteCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { ...COMMON_OPTIONS, links: { type: 'boolean' } }, true);
  if (values.help || positionals.length !== 1) {
    process.stdout.write(REWRITE_HELP);
    return values.help ? 0 : 2;
  }
  const config = await loadConfig(values.config, flagOverrides(values));
  const key = await loadOrCreateKey(config['data.dir']);
  const raw = await readFile(positionals[0]!);
  const { headers, body } = splitMessage(raw);
  const plan = planRewrite(headers, body, createMinter(config, key), rewriteSettings(config));
  if (plan.skipped) process.stderr.write(`passed unchanged: ${plan.skipped.code}: ${plan.skipped.detail}\n`);
  const lf = !raw.includes('\r\n');
  process.stdout.write(values.links ? linksTable(plan) : renderMessage(applyHeaderChanges(headers, plan.headerChanges), plan.body ?? body, lf));
  return 0;
}

export function linksTable(plan: RewritePlan): string {
  const rows = plan.links.map((l) => [String(l.position), l.part, l.url, l.newUrl, l.linkName ?? ''].join('\t'));
  return ['position\tpart\toriginal\tnew\tname', ...rows].join('\n') + '\n';
}

export function applyHeaderChanges(headers: HeaderField[], changes: HeaderChange[]): HeaderField[] {
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

export function renderMessage(headers: HeaderField[], body: Buffer, lf: boolean): Buffer {
  const head = headers.map((h) => `${h.name}: ${h.value.replace(/\r?\n/g, '\r\n')}\r\n`).join('') + '\r\n';
  const whole = Buffer.concat([Buffer.from(head, 'latin1'), toCrlf(body)]);
  return lf ? Buffer.from(whole.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : whole;
}
