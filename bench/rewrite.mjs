// HTML rewrite throughput against a bare pass of its own tokenizer (src/rewrite/html-tokenizer.ts) and of
// parse5's over the same input, in the same run.
//
//   npm run build && tsx bench/rewrite.mjs [--rounds N] [--seeded] [--hmac]
//
// (tsx for test/helpers/shared-dir.ts, which finds ../shared; the code measured is dist's JavaScript.)
//
// --seeded  replace the corpus's `href="#"` / `href="http://"` placeholders with real URLs (many more links)
// --hmac    mint real stateful tokens (the milter's own minter, HMAC and all) instead of a constant-time string builder
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer, TokenizerMode, html as htmlSpec } from 'parse5';
import { rewriteHtml } from '../dist/rewrite/html.js';
import { tokenizeHtml } from '../dist/rewrite/html-tokenizer.js';
import { createMessageMinter } from '../dist/tracking/message-minter.js';
import { createKeyring, signingKey } from '../dist/tokens/index.js';
import { sharedPath } from '../test/helpers/shared-dir.ts';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 15;

const corpus = sharedPath('corpus', 'templates');
if (!corpus.present) {
  console.error(`no corpus: ${corpus.absence}`);
  process.exit(1);
}
const corpusDir = corpus.path;
let docs = readdirSync(corpusDir)
  .filter((name) => name.endsWith('.html'))
  .sort()
  .map((name) => readFileSync(join(corpusDir, name), 'utf8'));
if (flag('--seeded')) {
  let n = 0;
  docs = docs.map((html) => html.replace(/href="(#|http:\/\/)"/g, () => `href="https://seed.example/${++n}?a=1&amp;b=2"`));
}
const bytes = docs.reduce((sum, html) => sum + Buffer.byteLength(html, 'utf8'), 0);

const cheapMinter = {
  click: (link) => `https://t.example/c/${link.position}`,
  open: () => 'https://t.example/o/x',
  isTrackingUrl: (url) => url.host === 't.example',
};
const minter = flag('--hmac')
  ? createMessageMinter({
      keyring: createKeyring([signingKey(1, Buffer.alloc(32, 7))], 1),
      identity: {
        sendId: 'a1',
        listId: 'l',
        emailCode: 'c',
        mailClass: 'a',
        recipient: 'r@example.net',
        recipients: ['r@example.net'],
        campaignId: '',
        metadata: null,
      },
      settings: { clicks: true, opens: true, domain: 't.example', scheme: 'https', style: 'compact', mode: 'stateful' },
      origin: { scheme: 'https', domain: 't.example' },
      messageId: Buffer.alloc(9, 1),
      trackingHosts: new Set(['t.example']),
    })
  : cheapMinter;
const options = { minter, clicks: true, opens: true, maxLinks: 10_000 };

const noop = () => {};
const emptyHandler = {
  onComment: noop,
  onDoctype: noop,
  onStartTag: noop,
  onEndTag: noop,
  onEof: noop,
  onCharacter: noop,
  onNullCharacter: noop,
  onWhitespaceCharacter: noop,
};

// The least any correct pass must do beyond the bare one: tell the tokenizer that style/title/script
// content is text (the tree builder normally does). Shown to split the overhead, not as the baseline.
const { TAG_ID } = htmlSpec;
const RAW_TEXT = new Map([
  [TAG_ID.STYLE, TokenizerMode.RAWTEXT],
  [TAG_ID.TITLE, TokenizerMode.RCDATA],
  [TAG_ID.SCRIPT, TokenizerMode.SCRIPT_DATA],
]);
function textModePass(source) {
  const tokenizer = new Tokenizer(
    { sourceCodeLocationInfo: true },
    {
      ...emptyHandler,
      onStartTag: (tag) => {
        const mode = RAW_TEXT.get(tag.tagID);
        if (mode !== undefined) tokenizer.state = mode;
      },
    },
  );
  tokenizer.write(source, true);
}

const silentHandler = { wantsAttributes: () => false, startTag: noop, endTag: noop, comment: noop };

let sink = 0; // keeps results alive so nothing is optimized away
const passes = {
  'own tokenizer': (html) => tokenizeHtml(html, silentHandler),
  'tokenizer, locations on': (html) => new Tokenizer({ sourceCodeLocationInfo: true }, emptyHandler).write(html, true),
  'tokenizer, locations off': (html) => new Tokenizer({ sourceCodeLocationInfo: false }, emptyHandler).write(html, true),
  'tokenizer + raw-text modes': textModePass,
  rewriteHtml: (html) => {
    sink += rewriteHtml(html, options).text.length;
  },
};

// Process CPU time, not wall time: the machine is shared, and waiting for a core is not our cost.
function timeCorpus(pass, repeat) {
  const start = process.cpuUsage();
  for (let i = 0; i < repeat; i++) for (const html of docs) pass(html);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6 / repeat;
}

// Enough repeats per sample that one sample takes ~250 ms.
const repeat = Math.max(1, Math.round(0.25 / timeCorpus(passes.rewriteHtml, 3)));
for (const pass of Object.values(passes)) timeCorpus(pass, repeat * 3); // warm-up

// Interleave the passes so drift (frequency scaling, GC) hits them all alike; report the median.
const samples = Object.fromEntries(Object.keys(passes).map((name) => [name, []]));
for (let r = 0; r < rounds; r++) for (const [name, pass] of Object.entries(passes)) samples[name].push(timeCorpus(pass, repeat));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbPerSecond = Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, bytes / 1e6 / median(xs)]));

console.log(
  `corpus: ${docs.length} templates, ${(bytes / 1e6).toFixed(2)} MB${flag('--seeded') ? ' (seeded)' : ''}, minter: ${flag('--hmac') ? 'HMAC' : 'cheap'}`,
);
console.log(`${rounds} rounds x ${repeat} corpus passes, median CPU time:`);
for (const [name, speed] of Object.entries(mbPerSecond)) console.log(`  ${name.padEnd(26)} ${speed.toFixed(1).padStart(7)} MB/s`);
console.log(`ratio rewriteHtml / its own tokenizer, reporting nothing: ${(mbPerSecond.rewriteHtml / mbPerSecond['own tokenizer']).toFixed(3)}`);
const ratio = mbPerSecond.rewriteHtml / mbPerSecond['tokenizer, locations on'];
console.log(`ratio rewriteHtml / bare parse5 tokenizer (locations on): ${ratio.toFixed(3)} (target >= 0.9)`);
console.log(`ratio rewriteHtml / bare parse5 tokenizer (locations off): ${(mbPerSecond.rewriteHtml / mbPerSecond['tokenizer, locations off']).toFixed(3)}`);
if (sink === 0) console.log('');
