import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../util/log.js';
import { startDaemon } from '../daemon.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { VERSION } from '../version.js';

export const SERVE_HELP = `Usage: trackmilter serve [--config FILE] [--milter SOCKET] [--http HOST:PORT] [--data DIR]

Runs the milter and the HTTP side in one process, on built-in defaults unless told otherwise.
  --config FILE     TOML configuration file (see README, "Configuration")
  --milter SOCKET   milter listener: inet:127.0.0.1:8899 (default), inet:[::1]:8899, unix:/run/trackmilter/milter.sock
  --http HOST:PORT  HTTP listener (default 127.0.0.1:8080)
  --data DIR        data directory (default ./data)
Prints a JSON line with "msg":"ready" once both listen. SIGTERM or SIGINT: finish messages in flight, then exit.
`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, COMMON_OPTIONS);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const config = await loadConfig(values.config, flagOverrides(values));
  const logger = createLogger({ level: config['log.level'] });
  const daemon = await startDaemon(config, logger);
  logger.info({ version: VERSION, milter: daemon.milterAddress, http: daemon.httpAddress, pid: process.pid }, 'ready');

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
      try {
        daemon.reload();
        logger.info({}, 'reloaded');
      } catch (err) {
        logger.error({ code: errorCode(err), err: errorMessage(err) }, 'reload failed; keeping the old certificate');
      }
    });
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
