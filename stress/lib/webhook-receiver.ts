/**
 * A webhook receiver whose health a test switches: 'ok' (200, keeps the events), 'fail' (500) or
 * 'hang' (reads the request, never answers). Switching away from 'hang' drops the hung connections,
 * as a receiver that is restarted would.
 */
import http from 'node:http';
import type { Socket } from 'node:net';

export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface WebhookEvent {
  id: string;
  type: string;
  url?: string;
}

export class WebhookReceiver {
  mode: ReceiverMode = 'ok';
  readonly requests: Record<ReceiverMode, number> = { ok: 0, fail: 0, hang: 0 };
  private readonly events = new Map<string, WebhookEvent>();
  private deliveredTwice = 0;
  private readonly hung = new Set<Socket>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const mode = this.mode;
      this.requests[mode]++;
      if (mode === 'hang') {
        this.hung.add(req.socket);
        return;
      }
      if (mode === 'fail') {
        res.writeHead(500).end();
        return;
      }
      for (const event of (JSON.parse(Buffer.concat(chunks).toString()) as { events: WebhookEvent[] }).events) {
        if (this.events.has(event.id)) this.deliveredTwice++;
        this.events.set(event.id, event);
      }
      res.writeHead(200).end();
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
  }

  setMode(mode: ReceiverMode): void {
    this.mode = mode;
    if (mode !== 'hang') this.dropHung();
  }

  private dropHung(): void {
    for (const socket of this.hung) socket.destroy();
    this.hung.clear();
  }

  /** Distinct events received (by id), of a type. */
  distinct(type: string): WebhookEvent[] {
    return [...this.events.values()].filter((event) => event.type === type);
  }

  get duplicates(): number {
    return this.deliveredTwice;
  }

  async close(): Promise<void> {
    this.dropHung();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
