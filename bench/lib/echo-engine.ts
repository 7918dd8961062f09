// Our milter engine with the echo filter, as a process of its own: `tsx bench/lib/echo-engine.ts SOCKET`.
// Prints "ready" once it listens; SIGTERM stops it. The engine is the built one (dist/), as the daemon
// that bench:mta measures beside it runs.
import type * as ServerModule from '../../src/milter/server.js';
import type * as AddressModule from '../../src/milter/address.js';
import type * as LogModule from '../../src/util/log.js';
import { built } from './built.js';
import { createEchoFilter } from './echo-filter.js';

const [{ MilterServer }, { parseSocketSpec }, { silentLogger }] = await Promise.all([
  built<typeof ServerModule>('milter/server.js'),
  built<typeof AddressModule>('milter/address.js'),
  built<typeof LogModule>('util/log.js'),
]);
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
