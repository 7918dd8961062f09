// The HTTP side of the daemon. For now it answers /healthz; the redirector grows here.
import http from 'node:http';
import { CodedError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Extra facts for /healthz (e.g. milter sessions). */
  health?: () => Record<string, unknown>;
}

export class HttpServer {
  private server: http.Server | null = null;

  constructor(private readonly options: HttpServerOptions) {}

  get port(): number {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : this.options.port;
  }

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => this.route(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new CodedError('ELISTEN', `cannot listen on ${this.options.host}:${this.options.port}: ${err.message}`, { cause: err })),
      );
      server.listen({ host: this.options.host, port: this.options.port }, () => resolve());
    });
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/healthz') {
      const body = JSON.stringify({ status: 'ok', ...this.options.health?.() });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('Not found\n');
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
