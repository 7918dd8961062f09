/**
 * A minimal milter (protocol version 6) that changes nothing and records the BODY packets the MTA
 * sends, per message. Tests put it in front of the milter under test to check what that milter was
 * really fed, e.g. that a CRLF really straddled two BODY packets.
 */
import net from 'node:net';

export interface RecordedMessage {
  /** Postfix queue id (macro `i`), when sent. */
  queueId: string | undefined;
  /** Each BODY packet's data, in order. */
  bodyChunks: Buffer[];
}

const SMFIC_OPTNEG = 0x4f; // 'O'
const SMFIC_MACRO = 0x44; // 'D'
const SMFIC_BODY = 0x42; // 'B'
const SMFIC_BODYEOB = 0x45; // 'E'
const SMFIC_ABORT = 0x41; // 'A'
const SMFIC_QUIT = 0x51; // 'Q'
const SMFIC_QUIT_NC = 0x4b; // 'K'
const SMFIR_CONTINUE = 0x63; // 'c'

function packet(command: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(data.length + 1, 0);
  header[4] = command;
  return Buffer.concat([header, data]);
}

/** name\0value\0 pairs of a MACRO packet (after its command byte). */
function parseMacros(data: Buffer): Map<string, string> {
  const parts = data.subarray(1).toString('latin1').split('\0');
  const macros = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) macros.set(parts[i]!.replace(/^\{|\}$/g, ''), parts[i + 1]!);
  return macros;
}

export class RecordingMilter {
  readonly messages: RecordedMessage[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  get postfixSpec(): string {
    return `inet:127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RecordingMilter> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    const milter = new RecordingMilter(server, address.port);
    server.on('connection', (socket) => milter.serve(socket));
    return milter;
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let current: RecordedMessage = { queueId: undefined, bodyChunks: [] };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const length = buffered.readUInt32BE(0);
        if (length < 1 || length > 16 * 1024 * 1024) {
          socket.destroy();
          return;
        }
        if (buffered.length < 4 + length) break;
        const command = buffered[4]!;
        const data = buffered.subarray(5, 4 + length);
        buffered = buffered.subarray(4 + length);
        switch (command) {
          case SMFIC_OPTNEG: {
            // version 6, no actions, no protocol steps skipped: reply to every command
            const reply = Buffer.alloc(12);
            reply.writeUInt32BE(6, 0);
            reply.writeUInt32BE(0, 4);
            reply.writeUInt32BE(0, 8);
            socket.write(packet(SMFIC_OPTNEG, reply));
            break;
          }
          case SMFIC_MACRO: {
            const queueId = parseMacros(data).get('i');
            if (queueId) current.queueId = queueId;
            break;
          }
          case SMFIC_BODY:
            current.bodyChunks.push(Buffer.from(data));
            socket.write(packet(SMFIR_CONTINUE));
            break;
          case SMFIC_BODYEOB:
            if (data.length > 0) current.bodyChunks.push(Buffer.from(data));
            this.messages.push(current);
            current = { queueId: undefined, bodyChunks: [] };
            socket.write(packet(SMFIR_CONTINUE)); // at end of message: accept, leave other milters be
            break;
          case SMFIC_ABORT:
            current = { queueId: undefined, bodyChunks: [] };
            break;
          case SMFIC_QUIT:
            socket.end();
            break;
          case SMFIC_QUIT_NC:
            current = { queueId: undefined, bodyChunks: [] };
            break;
          default:
            socket.write(packet(SMFIR_CONTINUE));
        }
      }
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
