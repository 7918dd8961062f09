import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Ports this process has handed out: never handed out twice, even once their listener is gone. */
const handedOut = new Set<number>();

/**
 * An unused loopback TCP port, for a server a test or bench starts itself. Picked at random below
 * Linux's ephemeral range (32768 and up), so that it is neither a port the kernel hands to outgoing
 * connections nor one a parallel test process is likely to pick (asking the kernel for port 0 gives
 * neighbouring processes, and two calls in one process, the same recently freed port), then checked
 * by binding it.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (handedOut.has(port)) continue;
    if (await canBind(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Resolves once a TCP connection to host:port succeeds (polling), or rejects after timeoutMs. */
export async function waitForTcpPort(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Polls `probe` until it returns a value other than undefined, or rejects with `what` after timeoutMs. */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
