// Structured JSON logs on stdout, one object a line, which journald and log shippers take as is.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug' | 'child'>;

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): PinoLogger {
  return pino(
    {
      level: options.level ?? process.env.TRACKMILTER_LOG_LEVEL ?? 'info',
      base: { service: 'trackmilter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
