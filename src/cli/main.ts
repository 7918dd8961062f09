#!/usr/bin/env node
import { serveCommand, SERVE_HELP } from './serve.js';
import { tryCommand, TRY_HELP } from './try.js';
import { rewriteCommand, REWRITE_HELP } from './rewrite.js';
import { VERSION } from '../version.js';
import { errorCode, errorMessage } from '../util/errors.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string; summary: string }> = {
  serve: { run: serveCommand, help: SERVE_HELP, summary: 'run the milter and the HTTP side (the default service)' },
  rewrite: { run: rewriteCommand, help: REWRITE_HELP, summary: 'show what a message file becomes, offline (--links: a table of its links)' },
  try: { run: tryCommand, help: TRY_HELP, summary: 'send a message file through a running milter and show what changed' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: trackmilter COMMAND [options]\n\nCommands:\n${list}\n\nEach command takes --help. trackmilter --version prints the version.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = errorCode(err);
    process.stderr.write(`trackmilter: ${errorMessage(err)} (${code})\n`);
    process.exitCode = code === 'EUSAGE' ? 2 : 1;
  },
);
