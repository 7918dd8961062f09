// `trackmilter serve | redirector | milter`: the long-running process in its three roles.
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { readConfig } from '../config/load.js';
import { roleWarnings } from '../app/role-warnings.js';
import { createLogger } from '../util/log.js';
import { startDaemon, type DaemonRole } from '../app/daemon.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { VERSION } from '../version.js';
import { applyDaemonV8Flags } from './v8-flags.js';

const FLAGS = `  --config FILE     TOML configuration file (see README, "Configuration")
  --milter SOCKET   milter listener: inet:127.0.0.1:8899 (default), inet:[::1]:8899, unix:/run/trackmilter/milter.sock
  --http HOST:PORT  HTTP listener (default 127.0.0.1:8080)
  --data DIR        data directory: keys, LevelDB store, admin token (default ./data)`;

export const SERVE_HELP = `Usage: trackmilter serve [--config FILE] [--milter SOCKET] [--http HOST:PORT] [--data DIR]

Runs the milter, the redirector and the store they share in one process, on built-in defaults unless
told otherwise. Prints a JSON line with "msg":"ready" once both listen.
SIGTERM or SIGINT: finish messages in flight, then exit. SIGHUP: reopen the JSONL event file and
reload the TLS certificate (a failure is logged; the old file or certificate stays in use).
${FLAGS}
`;

export const REDIRECTOR_HELP = `Usage: trackmilter redirector [--config FILE] [--http HOST:PORT] [--data DIR]

Runs the redirector alone, for stateless links (any number of hosts can serve them): it needs only the
signing keys (copy DIR/keys from the milter host, mode 0600) and keeps its own store for the events it
records. Stateful links need the store of 'serve' and are 404 here. SIGHUP reloads the TLS certificate.
${FLAGS}
`;

export const MILTER_HELP = `Usage: trackmilter milter [--config FILE] [--milter SOCKET] [--data DIR]

Runs the milter alone, without a store: mail classes in stateless mode are tracked, stateful ones pass
untouched (logged as skipped: no-store). Pair it with 'trackmilter redirector' on other hosts.
${FLAGS}
`;

export function daemonCommand(role: DaemonRole): (argv: string[]) => Promise<number> {
  const help = { serve: SERVE_HELP, redirector: REDIRECTOR_HELP, milter: MILTER_HELP }[role];
  return async (argv) => {
    const { values } = parseCommand(argv, COMMON_OPTIONS);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const { config, warnings } = await readConfig(values.config, flagOverrides(values));
    const logger = createLogger({ level: config['log.level'] });
    for (const warning of [...warnings, ...roleWarnings(config, role)]) logger.warn({}, warning);
    applyDaemonV8Flags();
    const daemon = await startDaemon(config, logger, role);
    const stopped = runUntilSignalled(daemon, logger);
    // Only now: whoever waits for this line may signal us at once, and the handlers are in place.
    logger.info({ version: VERSION, role, milter: daemon.milterAddress, http: daemon.httpAddress, pid: process.pid }, 'ready');
    return stopped;
  };
}

function runUntilSignalled(daemon: Awaited<ReturnType<typeof startDaemon>>, logger: ReturnType<typeof createLogger>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      daemon.stop().then(
        () => {
          logger.info({}, 'stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error({ code: errorCode(err), err: errorMessage(err) }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGHUP', () => {
      // reload() logs each failure itself and never rejects: a bad file must not end the daemon.
      void daemon.reload().then((complete) => logger.info({ complete }, 'reloaded'));
    });
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
