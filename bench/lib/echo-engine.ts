// Our milter engine with the echo filter, as a process of its own: `tsx bench/lib/echo-engine.ts SOCKET`.
// Prints "ready" once it listens; SIGTERM stops it.
import { MilterServer } from '../../src/milter/server.js';
import { parseSocketSpec } from '../../src/milter/address.js';
import { createEchoFilter } from './echo-filter.js';
import { silentLogger } from '../../src/util/log.js';

const spec = process.argv[2];
if (!spec) throw new Error('usage: echo-engine.ts SOCKET');
const server = new MilterServer({
  listen: parseSocketSpec(spec),
  socketMode: 0o666,
  filter: createEchoFilter(),
  logger: silentLogger,
  filterTimeoutMs: 10_000,
  failurePolicy: 'accept',
  maxMessageBytes: 64 * 1024 * 1024,
});
await server.listen();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
