// One process: the milter listener and the HTTP side, started together and stopped together.
import { mkdir } from 'node:fs/promises';
import { MilterServer } from './milter/server.js';
import { formatSocketSpec, parseHostPort, parseSocketSpec } from './milter/address.js';
import type { MessageFilter } from './milter/filter.js';
import { HttpServer } from './redirector/http-server.js';
import type { ConfigValues } from './config/load.js';
import type { Logger } from './util/log.js';
import { createStampFilter } from './filter/stamp-filter.js';

export interface Daemon {
  milterAddress: string;
  httpAddress: string;
  stop(): Promise<void>;
}

export async function startDaemon(config: ConfigValues, logger: Logger, filter: MessageFilter = createStampFilter()): Promise<Daemon> {
  await mkdir(config['data.dir'], { recursive: true, mode: 0o700 });
  const counters = { messages: 0, failed: 0 };
  const milter = new MilterServer({
    listen: parseSocketSpec(config['milter.listen']),
    socketMode: parseInt(config['milter.socket_mode'], 8),
    socketGroup: config['milter.socket_group'] || undefined,
    maxPacket: config['milter.max_packet_bytes'],
    filter,
    logger,
    filterTimeoutMs: config['milter.filter_timeout_ms'],
    failurePolicy: config['milter.on_error'] as 'accept' | 'tempfail',
    maxMessageBytes: config['milter.max_message_bytes'],
    onMessage: (o) => {
      counters.messages += 1;
      if (o.outcome === 'failed') counters.failed += 1;
    },
  });
  const { host, port } = parseHostPort(config['http.listen']);
  const httpServer = new HttpServer({
    host,
    port,
    logger,
    health: () => ({ milterSessions: milter.sessionCount, ...counters }),
  });
  await milter.listen();
  try {
    await httpServer.listen();
  } catch (err) {
    await milter.close(0);
    throw err;
  }
  const httpAddress = host.includes(':') ? `[${host}]:${httpServer.port}` : `${host}:${httpServer.port}`;
  return {
    milterAddress: formatSocketSpec(milter.address),
    httpAddress,
    async stop() {
      await Promise.all([milter.close(config['milter.shutdown_timeout_ms']), httpServer.close()]);
    },
  };
}
