// The listening side: accepts MTA connections on inet or unix sockets and runs a session on each.
import net from 'node:net';
import { chmod, chown, lstat, readFile, unlink } from 'node:fs/promises';
import { FrameDecoder } from './codec.js';
import { MilterSession, type SessionOptions } from './session.js';
import { formatSocketSpec, type SocketSpec } from './address.js';
import { DEFAULT_MAX_PACKET } from './constants.js';
import { CodedError, CommonErrorCode } from '../util/errors.js';
import { MilterErrorCode } from './errors.js';

export interface MilterServerOptions extends SessionOptions {
  listen: SocketSpec;
  /** Unix socket permissions, e.g. 0o660, and group (name or gid) so that the MTA's user can connect. */
  socketMode?: number;
  socketGroup?: string | number;
  maxPacket?: number;
  /** How long an MTA that sent a bad stream gets to take the replies already written before it is cut off. Default 5 s. */
  badStreamFlushMs?: number;
}

export class MilterServer {
  private server: net.Server | null = null;
  private readonly connections = new Map<net.Socket, MilterSession>();

  constructor(private readonly options: MilterServerOptions) {}

  get sessionCount(): number {
    return this.connections.size;
  }

  /** Where it listens, with the real port when port 0 was asked for. */
  get address(): SocketSpec {
    const spec = this.options.listen;
    const addr = this.server?.address();
    if (spec.kind === 'inet' && addr && typeof addr === 'object') return { ...spec, port: addr.port };
    return spec;
  }

  async listen(): Promise<void> {
    const spec = this.options.listen;
    if (spec.kind === 'unix') await removeStaleSocket(spec.path);
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new CodedError(CommonErrorCode.LISTEN, `cannot listen on ${formatSocketSpec(spec)}: ${err.message}`, { cause: err })),
      );
      if (spec.kind === 'unix') server.listen(spec.path, () => resolve());
      else server.listen({ host: spec.host, port: spec.port }, () => resolve());
    });
    server.on('error', (err) => this.options.logger.error({ err: err.message }, 'milter listener error'));
    if (spec.kind !== 'unix') return;
    try {
      await this.setSocketPermissions(spec.path);
    } catch (err) {
      // A socket the MTA may not be able to use is a startup error, and must not keep the process alive.
      await this.close(0);
      throw err;
    }
  }

  private async setSocketPermissions(path: string): Promise<void> {
    const { socketMode, socketGroup } = this.options;
    if (socketGroup !== undefined) await chown(path, -1, await resolveGroup(socketGroup));
    if (socketMode !== undefined) await chmod(path, socketMode);
  }

  private accept(socket: net.Socket): void {
    const logger = this.options.logger;
    const decoder = new FrameDecoder({ maxPacket: this.options.maxPacket ?? DEFAULT_MAX_PACKET });
    const session = new MilterSession(
      {
        write: (packet) => {
          if (!socket.destroyed) socket.write(packet);
        },
        close: () => socket.end(),
      },
      this.options,
    );
    this.connections.set(socket, session);
    socket.on('data', (chunk: Buffer) => {
      const { packets, error } = decoder.decode(chunk);
      for (const p of packets) session.handle(p);
      if (!error) return;
      logger.warn({ code: error.code, err: error.message }, 'bad milter stream; closing connection');
      // The packets before the bad one are served (an end of message among them gets its verdict).
      ignoreFurtherInput(socket);
      void session.whenDrained().then(() => closeAfterBadStream(socket, session, this.options.badStreamFlushMs ?? BAD_STREAM_FLUSH_MS));
    });
    socket.on('error', (err) => logger.debug({ err: err.message }, 'milter connection error'));
    socket.on('close', () => {
      if (decoder.pendingBytes > 0) logger.debug({ bytes: decoder.pendingBytes }, 'connection closed inside a packet');
      session.end();
      this.connections.delete(socket);
    });
    // The MTA closing its side at any point just ends the session.
    socket.on('end', () => socket.end());
  }

  /**
   * Stop accepting, let each session finish the message it is in (closing it once idle), and after
   * the deadline cut whatever is left. The MTA's milter_default_action covers anything cut.
   */
  async close(deadlineMs = 10_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const drains = [...this.connections].map(async ([socket, session]) => {
      await session.whenIdle();
      // Stop the session before closing: the MTA, not waiting for replies (NR_*), may already be
      // sending its next message, which must not be half-handled; it sees the close and tempfails it.
      session.end();
      socket.end();
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const result = await Promise.race([Promise.all(drains), deadline]);
    clearTimeout(timer);
    if (result === 'deadline') {
      this.options.logger.warn({ sessions: this.connections.size }, 'shutdown deadline reached; closing remaining milter sessions');
    }
    for (const socket of this.connections.keys()) socket.destroy();
    await closed;
    if (this.options.listen.kind === 'unix') await unlink(this.options.listen.path).catch(() => undefined);
  }
}

/** A socket file left by a crashed daemon is replaced; a live daemon's socket, or any other file, is not. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => null);
  if (!stat) return;
  if (!stat.isSocket()) throw new CodedError(CommonErrorCode.LISTEN, `${path} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new CodedError(CommonErrorCode.LISTEN, `${path} is in use by a running process`);
  await unlink(path);
}

async function resolveGroup(group: string | number): Promise<number> {
  if (typeof group === 'number' || /^\d+$/.test(group)) return Number(group);
  const lines = (await readFile('/etc/group', 'utf8')).split('\n');
  for (const line of lines) {
    const [name, , gid] = line.split(':');
    if (name === group && gid) return Number(gid);
  }
  throw new CodedError(MilterErrorCode.SOCKET_GROUP, `unknown group '${group}' for the milter socket`);
}

const BAD_STREAM_FLUSH_MS = 5_000;

/**
 * After a bad stream nothing more is decoded, but input is still read and dropped, since closing with
 * unread input resets the connection, which can lose the replies on their way.
 */
function ignoreFurtherInput(socket: net.Socket): void {
  socket.removeAllListeners('data');
  socket.on('data', () => undefined);
}

/**
 * Once the packets before a bad stream are served, the replies written are whole packets (a verdict
 * among them, perhaps) and go out before the close: destroying the socket would cut them mid-packet.
 * A peer that neither reads nor closes is cut off after flushMs.
 */
function closeAfterBadStream(socket: net.Socket, session: MilterSession, flushMs: number): void {
  session.end();
  socket.end();
  setTimeout(() => socket.destroy(), flushMs).unref();
}
