/**
 * A webhook receiver on loopback for the tests: records every request, checks its signature with a
 * plain HMAC computation of its own (not the code under test), and answers as the test's `answer`
 * function says: a status, "hang" (never answer), or "refuse" handled by stop()/start().
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A status now, a status after a delay, or no answer at all. */
export type Answer = number | 'hang' | { status: number; delayMs: number };

export interface ReceivedRequest {
  timestamp: string;
  signature: string;
  signatureValid: boolean;
  body: string;
  ids: string[];
  answered: Answer;
  receivedAt: number;
}

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  answer: (request: ReceivedRequest) => Answer = () => 200;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Ids of the events in requests answered 2xx, in arrival order. */
  acceptedIds(): string[] {
    return this.requests.filter((r) => r.answered !== 'hang' && statusOf(r.answered) < 300).flatMap((r) => r.ids);
  }

  /** Listens on `port` (0: any; later calls reuse the first port so the sink's URL stays valid). */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const timestamp = String(req.headers['x-trackmilter-timestamp'] ?? '');
        const signature = String(req.headers['x-trackmilter-signature'] ?? '');
        const expected = 'v1=' + createHmac('sha256', this.secret).update(`${timestamp}.${body}`).digest('hex');
        const events = (JSON.parse(body) as { events: { id: string }[] }).events;
        const request: ReceivedRequest = {
          timestamp,
          signature,
          signatureValid: signature === expected && Math.abs(Date.now() / 1000 - Number(timestamp)) < 5,
          body,
          ids: events.map((e) => e.id),
          answered: 200,
          receivedAt: Date.now(),
        };
        request.answered = this.answer(request);
        this.requests.push(request);
        const answer = request.answered;
        if (answer === 'hang') return;
        const respond = () => res.writeHead(statusOf(answer), { 'content-type': 'text/plain' }).end('ok');
        if (typeof answer === 'number') respond();
        else setTimeout(respond, answer.delayMs);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every connection: from now on connections are refused. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function statusOf(answer: Answer): number {
  return answer === 'hang' ? 0 : typeof answer === 'number' ? answer : answer.status;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
