#!/usr/bin/env node
import { daemonCommand, MILTER_HELP, REDIRECTOR_HELP, SERVE_HELP } from './serve.js';
import { tryCommand, TRY_HELP } from './try.js';
import { rewriteCommand, REWRITE_HELP } from './rewrite.js';
import { checkConfigCommand, CHECK_CONFIG_HELP, keygenCommand, KEYGEN_HELP } from './config-commands.js';
import { bounceCommand, BOUNCE_HELP } from './bounce.js';
import { eventsCommand, EVENTS_HELP, EXPORT_HELP, reportCommand, REPORT_HELP } from './report.js';
import { suppressionsCommand, SUPPRESSIONS_HELP } from './suppressions.js';
import { dashboardCommand, DASHBOARD_HELP } from './dashboard.js';
import { VERSION } from '../version.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { CliErrorCode } from './errors.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string; summary: string }> = {
  serve: { run: daemonCommand('serve'), help: SERVE_HELP, summary: 'run the milter, the redirector and their store (the default service)' },
  redirector: { run: daemonCommand('redirector'), help: REDIRECTOR_HELP, summary: 'run the redirector alone, for stateless links' },
  milter: { run: daemonCommand('milter'), help: MILTER_HELP, summary: 'run the milter alone, without a store (stateless classes only)' },
  rewrite: { run: rewriteCommand, help: REWRITE_HELP, summary: 'show what a message file becomes, offline (--links: a table of its links)' },
  report: { run: reportCommand, help: REPORT_HELP, summary: "a send's opens, clicks, bounces per link, from the running daemon" },
  dashboard: {
    run: dashboardCommand,
    help: DASHBOARD_HELP,
    summary: 'print a one-time URL that logs a browser into the dashboard (sends, charts, click maps)',
  },
  events: { run: eventsCommand, help: EVENTS_HELP, summary: "a send's events as JSON lines or CSV, from the running daemon" },
  export: { run: (argv) => eventsCommand(argv, EXPORT_HELP), help: EXPORT_HELP, summary: 'the same as events' },
  bounce: { run: bounceCommand, help: BOUNCE_HELP, summary: 'record one bounce or complaint from stdin (for a Postfix pipe transport; exit 75 to retry)' },
  suppressions: {
    run: suppressionsCommand,
    help: SUPPRESSIONS_HELP,
    summary: 'list, add, remove or import unsubscribed recipients per list, through the running daemon',
  },
  'check-config': { run: checkConfigCommand, help: CHECK_CONFIG_HELP, summary: 'print the effective configuration, or what is wrong with it (exit 1)' },
  keygen: { run: keygenCommand, help: KEYGEN_HELP, summary: 'add a new link signing key, keeping the old ones for links already sent' },
  try: { run: tryCommand, help: TRY_HELP, summary: 'send a message file through a running milter and show what changed' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: trackmilter COMMAND [options]\n\nCommands:\n${list}\n\nEach command takes --help (or: trackmilter help COMMAND). trackmilter --version prints the version.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'help' && rest[0] && COMMANDS[rest[0]]) {
    process.stdout.write(COMMANDS[rest[0]]!.help);
    return 0;
  }
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage());
    return command ? 0 : 2;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    process.stderr.write(`trackmilter: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  return entry.run(rest);
}

// `trackmilter events ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = errorCode(err);
    process.stderr.write(`trackmilter: ${errorMessage(err)} (${code})\n`);
    process.exitCode = code === CliErrorCode.USAGE ? 2 : 1;
  },
);
