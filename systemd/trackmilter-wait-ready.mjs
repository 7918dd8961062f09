#!/usr/bin/env node
// Readiness probe for the systemd units (ExecStartPost=): exits 0 once the daemon started with the
// same arguments accepts connections, so that units ordered after trackmilter (Postfix) find it
// listening. It reads the configuration exactly as the daemon does (defaults, then --config FILE, then
// the flags) and, depending on the role, waits until
//   serve, milter       a connection to milter.listen (unix socket or TCP) succeeds, and
//   serve, redirector   GET /healthz on http.listen (https when http.tls_cert is set) answers 200.
// Exits 1 with a message on stderr (the journal) after --timeout seconds (default 50; keep it under
// the unit's TimeoutStartSec) or when the configuration cannot be read.
//
// Usage: node trackmilter-wait-ready.mjs serve|milter|redirector [--config FILE] [--milter SOCKET]
//          [--http HOST:PORT] [--data DIR] [--timeout SECONDS]
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { parseArgs } from 'node:util';

const ROLES = ['serve', 'milter', 'redirector'];

function fail(message) {
  process.stderr.write(`trackmilter-wait-ready: ${message}\n`);
  process.exit(1);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        milter: { type: 'string' },
        http: { type: 'string' },
        data: { type: 'string' },
        timeout: { type: 'string', default: '50' },
      },
    });
  } catch (err) {
    return fail(err.message);
  }
})();
const role = positionals[0] ?? 'serve';
if (!ROLES.includes(role) || positionals.length > 1)
  fail(`usage: trackmilter-wait-ready.mjs ${ROLES.join('|')} [--config FILE] [--milter SOCKET] [--http HOST:PORT] [--timeout SECONDS]`);
const timeoutMs = Number(values.timeout) * 1000;
if (!(timeoutMs > 0)) fail(`--timeout ${values.timeout}: expected a number of seconds`);

// The daemon's own config loader and address parsers, from the package this file ships in.
const dist = new URL('../dist/', import.meta.url);
const { loadConfig } = await import(new URL('config/load.js', dist).href);
const { parseSocketSpec } = await import(new URL('milter/address.js', dist).href);
const { parseHostPort } = await import(new URL('util/host-port.js', dist).href);

const overrides = {};
if (values.milter !== undefined) overrides['milter.listen'] = values.milter;
if (values.http !== undefined) overrides['http.listen'] = values.http;
if (values.data !== undefined) overrides['data.dir'] = values.data;
let config;
try {
  config = await loadConfig(values.config, overrides);
} catch (err) {
  fail(err.message);
}

/** A wildcard listen address is reached through loopback. */
function connectHost(host) {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

function milterProbe() {
  const spec = parseSocketSpec(config['milter.listen']);
  const target = spec.kind === 'unix' ? { path: spec.path } : { host: connectHost(spec.host), port: spec.port };
  const label = spec.kind === 'unix' ? `unix:${spec.path}` : `${target.host}:${target.port}`;
  return {
    label: `milter ${label}`,
    probe: () =>
      new Promise((resolve) => {
        const socket = net.connect(target);
        socket.setTimeout(2000, () => socket.destroy(new Error('connect timeout')));
        socket.once('connect', () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.once('error', (err) => resolve(err.code ?? err.message));
      }),
  };
}

function healthProbe() {
  const { host, port } = parseHostPort(config['http.listen']);
  const tls = Boolean(config['http.tls_cert']);
  const client = tls ? https : http;
  const label = `${tls ? 'https' : 'http'}://${connectHost(host).includes(':') ? `[${connectHost(host)}]` : connectHost(host)}:${port}/healthz`;
  return {
    label,
    probe: () =>
      new Promise((resolve) => {
        // The probe only asks whether our own daemon answers: its certificate names the tracking
        // domain, not the loopback address, so it is not verified here.
        const req = client.get({ host: connectHost(host), port, path: '/healthz', timeout: 2000, rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200 ? undefined : `status ${res.statusCode}`);
        });
        req.once('timeout', () => req.destroy(new Error('timeout')));
        req.once('error', (err) => resolve(err.code ?? err.message));
      }),
  };
}

const probes = [];
if (role !== 'redirector') probes.push(milterProbe());
if (role !== 'milter') probes.push(healthProbe());

const deadline = Date.now() + timeoutMs;
for (const { label, probe } of probes) {
  for (;;) {
    const problem = await probe();
    if (problem === undefined) break;
    if (Date.now() > deadline) fail(`${label} not ready after ${values.timeout} s (${problem})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
process.stdout.write(`trackmilter-wait-ready: ${probes.map((p) => p.label).join(' and ')} ready\n`);
