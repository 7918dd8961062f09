/**
 * A private Postfix instance on loopback for end-to-end tests and the MTA benchmark.
 *
 * Each lab lives in its own temp dir (config, queue, data, maillog, milter sockets), listens on a
 * port chosen free at runtime and relays every message to its own `smtp-sink`, which dumps each
 * delivered message to a file. The config comes from postfix-examples/lab/{main,master}.cf, so the
 * tests use the files we ship as examples.
 *
 * Postfix only starts a non-default instance listed in the default instance's
 * `alternate_config_directories`; labs add and remove themselves under a lock file so that two
 * labs (two test files, a test and a benchmark) never lose each other's entry.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, accessSync, readFileSync, constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findFreePort, pollUntil, waitForTcpPort } from './net.js';

const execFileAsync = promisify(execFile);

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE_DIR = path.join(PROJECT_ROOT, 'postfix-examples', 'lab');
const DEFAULT_CONFIG_DIR = '/etc/postfix';
const LAB_DIR_PREFIX = 'trackmilter-lab-';
const REGISTRY_LOCK = path.join(DEFAULT_CONFIG_DIR, '.trackmilter-lab.lock');

/** Where to find Postfix's programs: PATH plus the sbin dirs a non-root PATH may lack. */
function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Why a lab cannot run here, or undefined when it can (Postfix and smtp-sink installed, running as root). */
export function postfixLabUnavailableReason(): string | undefined {
  for (const program of ['postfix', 'postconf', 'smtp-sink']) {
    if (!findProgram(program)) return `${program} is not installed`;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'a private Postfix instance needs root';
  if (!existsSync(DEFAULT_CONFIG_DIR)) return `${DEFAULT_CONFIG_DIR} is missing`;
  return undefined;
}

/** Absolute path of a Postfix program (postconf, postfix, smtp-sink, ...), found in PATH or sbin. */
export function program(name: string): string {
  const found = findProgram(name);
  if (!found) throw new Error(`${name} is not installed`);
  return found;
}

function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

// ---------------------------------------------------------------------------------------------
// alternate_config_directories registry

async function withRegistryLock<T>(action: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const handle = await fs.open(REGISTRY_LOCK, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await registryLockIsStale()) {
        await fs.rm(REGISTRY_LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`could not take ${REGISTRY_LOCK}`);
      await sleep(20 + Math.random() * 30);
    }
  }
  try {
    return await action();
  } finally {
    await fs.rm(REGISTRY_LOCK, { force: true });
  }
}

async function registryLockIsStale(): Promise<boolean> {
  try {
    const [content, stat] = await Promise.all([fs.readFile(REGISTRY_LOCK, 'utf8'), fs.stat(REGISTRY_LOCK)]);
    const holder = Number(content);
    if (Date.now() - stat.mtimeMs > 120_000) return true;
    if (!Number.isInteger(holder) || holder <= 0) return Date.now() - stat.mtimeMs > 5_000;
    try {
      process.kill(holder, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false; // vanished meanwhile: just retry
  }
}

async function readAlternateConfigDirectories(): Promise<string[]> {
  const { stdout } = await execFileAsync(program('postconf'), ['-c', DEFAULT_CONFIG_DIR, '-h', 'alternate_config_directories']);
  return stdout.split(/[\s,]+/).filter((entry) => entry.length > 0);
}

async function writeAlternateConfigDirectories(entries: string[]): Promise<void> {
  await execFileAsync(program('postconf'), ['-c', DEFAULT_CONFIG_DIR, '-e', `alternate_config_directories = ${entries.join(' ')}`]);
}

/** Our own leftover entries (a lab dir that no longer exists) are dropped; everyone else's are kept. */
function isStaleLabEntry(entry: string): boolean {
  return path.basename(path.dirname(entry)).startsWith(LAB_DIR_PREFIX) && !existsSync(entry);
}

async function registerInstance(configDir: string): Promise<void> {
  await withRegistryLock(async () => {
    // A package installed with "No configuration" has no default main.cf; Postfix needs one to
    // look up alternate_config_directories, and an empty one means all defaults.
    const defaultMainCf = path.join(DEFAULT_CONFIG_DIR, 'main.cf');
    if (!existsSync(defaultMainCf)) await fs.writeFile(defaultMainCf, '', { flag: 'a' });
    const entries = (await readAlternateConfigDirectories()).filter((entry) => !isStaleLabEntry(entry));
    if (!entries.includes(configDir)) entries.push(configDir);
    await writeAlternateConfigDirectories(entries);
  });
}

async function unregisterInstance(configDir: string): Promise<void> {
  await withRegistryLock(async () => {
    const before = await readAlternateConfigDirectories();
    const after = before.filter((entry) => entry !== configDir && !isStaleLabEntry(entry));
    if (after.length !== before.length) await writeAlternateConfigDirectories(after);
  });
}

// ---------------------------------------------------------------------------------------------
// delivered messages

/** One message as smtp-sink received it from the lab Postfix. */
export interface DeliveredMessage {
  file: string;
  /** Envelope as smtp-sink recorded it (MAIL FROM address, RCPT TO addresses). */
  mailFrom: string;
  rcptTo: string[];
  /** The message as delivered (header block + body), LF line ends (smtp-sink drops every CR). */
  content: Buffer;
  /** Header block (without the blank separator line), LF line ends, folded lines kept. */
  headerBlock: string;
  /** Body after the blank line, LF line ends. */
  body: Buffer;
  /** Values of the named header, in order (unfolded, leading space stripped). */
  header(name: string): string[];
}

/** Turns CRLF into LF (line endings aside, the bytes must match). */
export function normalizeLineEndings(data: Buffer | string): Buffer {
  const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(buffer.length);
  let length = 0;
  for (let i = 0; i < buffer.length; i++) {
    const byte = buffer[i]!;
    if (byte === 0x0d && buffer[i + 1] === 0x0a) continue;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** Splits a message (LF line ends) into its header block and body. */
export function splitMessage(content: Buffer): { headerBlock: string; body: Buffer } {
  const separator = content.indexOf('\n\n');
  if (separator < 0) return { headerBlock: content.toString('latin1').replace(/\n$/, ''), body: Buffer.alloc(0) };
  return { headerBlock: content.subarray(0, separator).toString('latin1'), body: content.subarray(separator + 2) };
}

/** Values of a header in a header block (LF line ends), unfolded. */
export function headerValues(headerBlock: string, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const field of headerBlock.split(/\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon < 0) continue;
    if (field.slice(0, colon).trim().toLowerCase() !== wanted) continue;
    values.push(
      field
        .slice(colon + 1)
        .replace(/\n[ \t]/g, ' ')
        .replace(/^[ \t]/, ''),
    );
  }
  return values;
}

/**
 * Parses one smtp-sink dump file. Its layout (smtp-sink.c): envelope records (`X-Client-Addr:`,
 * `X-Client-Proto:`, `X-Helo-Args:`, `X-Mail-Args:`, one `X-Rcpt-Args:` per RCPT), smtp-sink's own
 * three-line `Received:` header, then the DATA stream with every CR dropped and dot-stuffing undone,
 * including the LF of the terminating ".CRLF" (so one trailing LF is not part of the message).
 */
export function parseSinkDump(file: string, raw: Buffer): DeliveredMessage {
  const text = raw.toString('latin1');
  let offset = 0;
  let mailFrom = '';
  const rcptTo: string[] = [];
  for (;;) {
    const newline = text.indexOf('\n', offset);
    if (newline < 0) throw new Error(`${file}: truncated envelope`);
    const line = text.slice(offset, newline);
    const record = /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): ?(.*)$/.exec(line);
    if (!record) break;
    const address = /<([^>]*)>/.exec(record[2]!)?.[1] ?? record[2]!.trim();
    if (record[1] === 'Mail-Args') mailFrom = address;
    if (record[1] === 'Rcpt-Args') rcptTo.push(address);
    offset = newline + 1;
  }
  const sinkReceived = /^Received: [^\n]*\n\tby [^\n]*\(smtp-sink\)[^\n]*\n\t[^\n]*\n/.exec(text.slice(offset, offset + 1000));
  if (!sinkReceived) throw new Error(`${file}: no smtp-sink Received header after the envelope`);
  offset += sinkReceived[0].length;
  let content = raw.subarray(offset);
  if (content.length === 0 || content[content.length - 1] !== 0x0a) throw new Error(`${file}: incomplete dump (no end of data)`);
  content = content.subarray(0, content.length - 1);
  const { headerBlock, body } = splitMessage(content);
  return { file, mailFrom, rcptTo, content, headerBlock, body, header: (name) => headerValues(headerBlock, name) };
}

export interface MaillogCounts {
  /** Messages delivered (distinct queue ids with status=sent). */
  sent: number;
  /** status=deferred / status=bounced lines (per recipient), milter-reject lines. */
  deferred: number;
  bounced: number;
  milterRejects: number;
}

/**
 * Counts from a maillog. `sent` counts messages (distinct queue ids with a status=sent line), not
 * recipients: a message to three recipients at the sink is one delivery, one dump. A short queue id comes
 * back once its message is gone (it is the file's inode and a clock's microseconds), which a few thousand
 * messages can meet: after its `removed` line, the id names a new message.
 */
export function countMaillog(maillog: string): MaillogCounts {
  const lines = maillog.split('\n');
  const count = (pattern: RegExp) => lines.filter((line) => pattern.test(line)).length;
  const removals = new Map<string, number>();
  const sentQueueIds = new Set<string>();
  for (const line of lines) {
    const queueId = /: ([0-9A-Za-z]+): (?:to=<|removed$)/.exec(line)?.[1];
    if (queueId === undefined) continue;
    if (line.endsWith(': removed')) removals.set(queueId, (removals.get(queueId) ?? 0) + 1);
    else if (/ status=sent /.test(line)) sentQueueIds.add(`${queueId}#${removals.get(queueId) ?? 0}`);
  }
  return {
    sent: sentQueueIds.size,
    deferred: count(/ status=deferred /),
    bounced: count(/ status=bounced /),
    milterRejects: count(/ milter-reject: /),
  };
}

export interface PostfixLabOptions {
  /** smtpd_milters / non_smtpd_milters value (e.g. `inet:127.0.0.1:8899`); empty or omitted: no milter. */
  milter?: string;
  /** milter_default_action; tempfail by default, so a failing milter never lets mail through unfiltered. */
  defaultAction?: 'accept' | 'tempfail' | 'reject' | 'quarantine';
  /** Have smtp-sink dump every delivered message to a file (default true; the benchmark turns it off). */
  dumpMessages?: boolean;
  /** Extra main.cf settings appended after the template. */
  extraSettings?: Record<string, string>;
  /** Extra master.cf lines (services such as a pipe transport) appended after the template. */
  extraMasterCf?: string;
}

const liveLabs = new Set<PostfixLab>();
process.once('exit', () => {
  for (const lab of liveLabs) lab.stopSyncBestEffort();
});

export class PostfixLab {
  /** Milter sockets for this lab go here: reachable by Postfix's smtpd (user postfix, not chrooted). */
  readonly socketDir: string;
  readonly configDir: string;
  readonly sinkDir: string;
  readonly maillogPath: string;
  private sink: ChildProcess | undefined;
  /** status=sent count when the dumps were last cleared. */
  private sentBaseline = 0;
  private sinkLog = '';
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly smtpPort: number,
    readonly sinkPort: number,
    readonly options: PostfixLabOptions,
  ) {
    this.configDir = path.join(dir, 'etc');
    this.sinkDir = path.join(dir, 'sink');
    this.socketDir = path.join(dir, 'sockets');
    this.maillogPath = path.join(dir, 'maillog');
  }

  /** Creates, registers and starts a lab; resolves once Postfix and smtp-sink accept connections. */
  static async start(options: PostfixLabOptions = {}): Promise<PostfixLab> {
    const reason = postfixLabUnavailableReason();
    if (reason) throw new Error(`cannot start a Postfix lab: ${reason}`);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), LAB_DIR_PREFIX));
    const lab = new PostfixLab(dir, await findFreePort(), await findFreePort(), options);
    liveLabs.add(lab);
    try {
      await lab.setUp();
    } catch (error) {
      await lab.stop().catch(() => undefined);
      throw error;
    }
    return lab;
  }

  private async setUp(): Promise<void> {
    const postfixUser = userIds('postfix');
    await fs.chmod(this.dir, 0o755);
    for (const sub of ['etc', 'spool', 'data', 'sink', 'sockets']) await fs.mkdir(path.join(this.dir, sub));
    await fs.chown(path.join(this.dir, 'data'), postfixUser.uid, postfixUser.gid);
    await fs.chown(this.sinkDir, postfixUser.uid, postfixUser.gid);
    await fs.chmod(this.socketDir, 0o755);

    const values: Record<string, string> = {
      LAB: this.dir,
      SMTPD_PORT: String(this.smtpPort),
      SINK_PORT: String(this.sinkPort),
      MILTER: this.options.milter ? milterEntry(this.options.milter, this.options.defaultAction ?? 'tempfail') : '',
      DEFAULT_ACTION: this.options.defaultAction ?? 'tempfail',
    };
    let mainCf = renderTemplate(await fs.readFile(path.join(TEMPLATE_DIR, 'main.cf'), 'utf8'), values);
    for (const [name, value] of Object.entries(this.options.extraSettings ?? {})) mainCf += `${name} = ${value}\n`;
    await fs.writeFile(path.join(this.configDir, 'main.cf'), mainCf);
    const masterCf = renderTemplate(await fs.readFile(path.join(TEMPLATE_DIR, 'master.cf'), 'utf8'), values) + (this.options.extraMasterCf ?? '');
    await fs.writeFile(path.join(this.configDir, 'master.cf'), masterCf);

    await registerInstance(this.configDir);
    await this.postfix('check');
    await this.postfix('start');
    this.startSink();
    await waitForTcpPort(this.sinkPort);
    await waitForTcpPort(this.smtpPort);
  }

  private startSink(): void {
    const args = ['-u', 'postfix'];
    // smtp-sink appends a random hex suffix to the strftime-expanded template.
    if (this.options.dumpMessages !== false) args.push('-d', `${this.sinkDir}/%H%M%S.`);
    args.push(`127.0.0.1:${this.sinkPort}`, '1000');
    const sink = spawn(program('smtp-sink'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    sink.stdout?.on('data', (chunk: Buffer) => (this.sinkLog += chunk.toString()));
    sink.stderr?.on('data', (chunk: Buffer) => (this.sinkLog += chunk.toString()));
    this.sink = sink;
  }

  /** Runs `postfix -c <lab> <command...>` (start, stop, reload, flush, check). */
  async postfix(...command: string[]): Promise<string> {
    try {
      const { stdout, stderr } = await execFileAsync(program('postfix'), ['-c', this.configDir, ...command]);
      return stdout + stderr;
    } catch (error) {
      const failure = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`postfix ${command.join(' ')} failed: ${failure.stderr ?? ''}${failure.stdout ?? ''}${failure.message}`);
    }
  }

  /**
   * Changes main.cf settings of this lab (`postconf -e`) and restarts Postfix. Not `postfix reload`:
   * that returns before idle smtpd processes have gone, so the next connection may still get the
   * old settings. A stop waits for every process to exit; mail in the queue stays there.
   */
  async reconfigure(settings: Record<string, string>): Promise<void> {
    const pairs = Object.entries(settings).map(([name, value]) => `${name} = ${value}`);
    await execFileAsync(program('postconf'), ['-c', this.configDir, '-e', ...pairs]);
    await this.postfix('stop');
    await this.postfix('start');
    await waitForTcpPort(this.smtpPort);
  }

  /**
   * Submits a message locally with Postfix's sendmail(1) (postdrop, then pickup: the path that
   * non_smtpd_milters covers). `-i`: a line holding only "." is data, not the end of input.
   */
  async sendmail(envelope: { from: string; to: string[] }, data: Buffer | string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(program('sendmail'), ['-C', this.configDir, '-i', '-f', envelope.from, '--', ...envelope.to], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sendmail exited with ${code}: ${stderr}`))));
      child.stdin?.end(data);
    });
  }

  /** Path for a unix socket in this lab's socket dir. */
  socketPath(name: string): string {
    return path.join(this.socketDir, name);
  }

  /** Stops Postfix and smtp-sink, unregisters the instance and removes the lab dir (kept with KEEP_POSTFIX_LAB=1). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    liveLabs.delete(this);
    if (existsSync(path.join(this.dir, 'spool', 'pid', 'master.pid'))) {
      await this.postfix('stop').catch(() => this.postfix('abort').catch(() => undefined));
    }
    const sink = this.sink;
    if (sink && sink.exitCode === null && sink.signalCode === null) {
      const exited = new Promise((resolve) => sink.once('exit', resolve));
      sink.kill('SIGTERM');
      await exited;
    }
    await unregisterInstance(this.configDir);
    if (process.env.KEEP_POSTFIX_LAB !== '1') await fs.rm(this.dir, { recursive: true, force: true });
  }

  /** Process-exit safety net: synchronous, never throws. */
  stopSyncBestEffort(): void {
    try {
      execFileSync(program('postfix'), ['-c', this.configDir, 'abort'], { stdio: 'ignore' });
    } catch {
      // not running
    }
    this.sink?.kill('SIGKILL');
  }

  // -------------------------------------------------------------------------------------------
  // maillog

  async maillog(): Promise<string> {
    try {
      return await fs.readFile(this.maillogPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  /** Maillog lines matching a pattern. */
  async grepMaillog(pattern: RegExp): Promise<string[]> {
    return (await this.maillog()).split('\n').filter((line) => pattern.test(line));
  }

  /** Counts from the maillog (countMaillog). */
  async maillogCounts(): Promise<MaillogCounts> {
    return countMaillog(await this.maillog());
  }

  /** Waits until the maillog shows at least `count` messages delivered (status=sent) to smtp-sink. */
  async waitForDeliveries(count: number, timeoutMs = 120_000): Promise<MaillogCounts> {
    try {
      return await pollUntil(
        `${count} deliveries in ${this.maillogPath}`,
        async () => {
          const counts = await this.maillogCounts();
          return counts.sent >= count ? counts : undefined;
        },
        timeoutMs,
        100,
      );
    } catch (error) {
      const counts = await this.maillogCounts();
      const tail = (await this.maillog()).trimEnd().split('\n').slice(-20).join('\n');
      throw new Error(
        `${(error as Error).message}; maillog counts ${JSON.stringify(counts)}\nlast maillog lines:\n${tail}\nsmtp-sink output: ${this.sinkLog.slice(-500)}`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // smtp-sink dumps

  async deliveredFiles(): Promise<string[]> {
    const names = await fs.readdir(this.sinkDir);
    return names.sort().map((name) => path.join(this.sinkDir, name));
  }

  /** Every message smtp-sink has received so far, parsed. */
  async readDeliveredMessages(): Promise<DeliveredMessage[]> {
    const files = await this.deliveredFiles();
    return Promise.all(files.map(async (file) => parseSinkDump(file, await fs.readFile(file))));
  }

  /**
   * Waits until `count` messages have been delivered since the last clearDeliveredMessages(), then
   * returns every dumped message. smtp-sink closes a dump before it answers 250, and Postfix logs
   * status=sent only after that 250, so every logged delivery has a complete dump.
   */
  async waitForDeliveredMessages(count: number, timeoutMs = 120_000): Promise<DeliveredMessage[]> {
    await this.waitForDeliveries(this.sentBaseline + count, timeoutMs);
    return this.readDeliveredMessages();
  }

  /** Deliveries (status=sent) since the last clearDeliveredMessages(). */
  async deliveriesSinceClear(): Promise<number> {
    return (await this.maillogCounts()).sent - this.sentBaseline;
  }

  /** Starts a new round: removes the dumps and counts deliveries from here on. Call when nothing is in flight. */
  async clearDeliveredMessages(): Promise<void> {
    for (const file of await this.deliveredFiles()) await fs.rm(file, { force: true });
    this.sentBaseline = (await this.maillogCounts()).sent;
  }

  /** Number of messages in the lab's queue (mailq), 0 when empty. */
  async queueSize(): Promise<number> {
    const { stdout } = await execFileAsync(program('postqueue'), ['-c', this.configDir, '-j']).catch(() => ({ stdout: '' }));
    return stdout.split('\n').filter((line) => line.trim().startsWith('{')).length;
  }
}

export const MAIN_CF_EXAMPLE = path.join(PROJECT_ROOT, 'postfix-examples', 'main.cf.example');

/**
 * The per-milter entry for trackmilter exactly as postfix-examples/main.cf.example recommends it
 * (its timeouts), with the lab's address and default_action, so the tests run Postfix with the
 * settings admins are told to use.
 */
export function milterEntry(address: string, defaultAction: string): string {
  const example = readFileSync(MAIN_CF_EXAMPLE, 'utf8');
  const entry = /^\s*\{ *inet:127\.0\.0\.1:8899 *,([^}]*)\}/m.exec(example);
  if (!entry) throw new Error(`${MAIN_CF_EXAMPLE}: no { inet:127.0.0.1:8899, ... } entry in smtpd_milters`);
  const settings = entry[1]!
    .split(',')
    .map((setting) => setting.trim())
    .filter((setting) => setting.length > 0 && !setting.startsWith('default_action='));
  return `{ ${[address, `default_action=${defaultAction}`, ...settings].join(', ')} }`;
}

function renderTemplate(template: string, values: Record<string, string>): string {
  const rendered = template.replace(/@([A-Z_]+)@/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`lab template: unknown placeholder ${whole}`);
    return value;
  });
  return rendered;
}

/** Synchronous check used by test files to decide whether to skip (and say why). */
export function canRunPostfixLab(): boolean {
  return postfixLabUnavailableReason() === undefined;
}
