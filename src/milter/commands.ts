// Typed views of the payloads the MTA sends, and encoders for both directions' payloads.
// Strings are "binary strings" (latin1): one char per byte, so 8-bit and UTF-8 header bytes survive
// a round trip untouched. Decode with Buffer.from(s, 'latin1').toString('utf8') where text is wanted.
import { Cmd, Family, Reply } from './constants.js';
import { cstrings, encodePacket, splitCStrings, u32 } from './codec.js';
import { CodedError } from '../util/errors.js';
import type { HeaderField } from '../util/header-field.js';
import { MilterErrorCode } from './errors.js';

export interface OptNeg {
  version: number;
  actions: number;
  protocol: number;
}

export interface ConnectInfo {
  hostname: string;
  family: 'unknown' | 'unix' | 'inet' | 'inet6';
  port: number;
  /** IP address (without any `IPv6:` prefix) or unix socket path; empty when unknown. */
  address: string;
}

export interface EnvelopeAddress {
  /** The address without angle brackets. */
  address: string;
  /** ESMTP parameters, e.g. `SIZE=1234`, `BODY=8BITMIME`. */
  args: string[];
}

export type { HeaderField };

interface MacroPacket {
  /** The command the macros belong to. */
  stage: string;
  macros: Record<string, string>;
}

export function parseOptNeg(data: Buffer): OptNeg {
  if (data.length < 12) throw new CodedError(MilterErrorCode.OPTNEG, `OPTNEG payload of ${data.length} bytes, need 12`);
  return { version: data.readUInt32BE(0), actions: data.readUInt32BE(4), protocol: data.readUInt32BE(8) };
}

export function encodeOptNeg(o: OptNeg, macroLists: Array<{ stage: number; macros: string }> = []): Buffer {
  const lists = macroLists.flatMap((l) => [u32(l.stage), cstrings(l.macros)]);
  return encodePacket(Reply.OPTNEG, u32(o.version, o.actions, o.protocol), ...lists);
}

/** Macro names are normalised without braces: `{daemon_name}` and `daemon_name` are one macro. */
export function macroName(name: string): string {
  return name.length > 2 && name.startsWith('{') && name.endsWith('}') ? name.slice(1, -1) : name;
}

/** Lenient: an empty packet, an empty list and a name without a value are all accepted. */
export function parseMacro(data: Buffer): MacroPacket {
  if (data.length === 0) return { stage: '', macros: {} };
  const stage = String.fromCharCode(data[0]!);
  const strings = splitCStrings(data.subarray(1));
  const macros: Record<string, string> = {};
  for (let i = 0; i + 1 < strings.length; i += 2) macros[macroName(strings[i]!)] = strings[i + 1]!;
  return { stage, macros };
}

export function parseConnect(data: Buffer): ConnectInfo {
  const nul = data.indexOf(0);
  const hostname = (nul < 0 ? data : data.subarray(0, nul)).toString('latin1');
  if (nul < 0 || nul + 1 >= data.length) return { hostname, family: 'unknown', port: 0, address: '' };
  const familyCode = String.fromCharCode(data[nul + 1]!);
  const rest = data.subarray(nul + 2);
  const port = rest.length >= 2 ? rest.readUInt16BE(0) : 0;
  let address = splitCStrings(rest.subarray(2))[0] ?? '';
  const family = familyName(familyCode);
  if (family === 'inet6' && address.toLowerCase().startsWith('ipv6:')) address = address.slice(5);
  return { hostname, family, port, address };
}

function familyName(code: string): ConnectInfo['family'] {
  switch (code) {
    case Family.UNIX:
      return 'unix';
    case Family.INET:
      return 'inet';
    case Family.INET6:
      return 'inet6';
    default:
      return 'unknown';
  }
}

export function parseEnvelope(data: Buffer): EnvelopeAddress {
  const [first = '', ...args] = splitCStrings(data);
  return { address: stripAngles(first), args };
}

function stripAngles(addr: string): string {
  const trimmed = addr.trim();
  return trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1) : trimmed;
}

export function parseHeader(data: Buffer): HeaderField {
  const nul = data.indexOf(0);
  if (nul < 0) return { name: data.toString('latin1'), value: '' };
  const name = data.subarray(0, nul).toString('latin1');
  let end = data.length;
  if (end > nul + 1 && data[end - 1] === 0) end -= 1;
  return { name, value: data.subarray(nul + 1, end).toString('latin1') };
}

export function parseSingleString(data: Buffer): string {
  return splitCStrings(data)[0] ?? '';
}

// --- MTA side encoders (used by our client) ---

export function encodeConnect(info: ConnectInfo): Buffer {
  const host = cstrings(info.hostname);
  if (info.family === 'unknown') return encodePacket(Cmd.CONNECT, host, Buffer.from(Family.UNKNOWN));
  const code = { unix: Family.UNIX, inet: Family.INET, inet6: Family.INET6 }[info.family];
  const port = Buffer.allocUnsafe(2);
  port.writeUInt16BE(info.port & 0xffff, 0);
  return encodePacket(Cmd.CONNECT, host, Buffer.from(code), port, cstrings(info.address));
}

export function encodeMacro(stage: string, macros: Record<string, string>): Buffer {
  const pairs = Object.entries(macros).flatMap(([k, v]) => [k.length > 1 && !k.startsWith('{') ? `{${k}}` : k, v]);
  return encodePacket(Cmd.MACRO, Buffer.from(stage, 'latin1'), cstrings(...pairs));
}

export function encodeEnvelope(cmd: typeof Cmd.MAIL | typeof Cmd.RCPT, env: EnvelopeAddress): Buffer {
  return encodePacket(cmd, cstrings(`<${env.address}>`, ...env.args));
}

export function encodeHeader(h: HeaderField): Buffer {
  return encodePacket(Cmd.HEADER, cstrings(h.name, h.value));
}

// --- milter side encoders ---

export function encodeAddHeader(h: HeaderField): Buffer {
  return encodePacket(Reply.ADDHEADER, cstrings(h.name, h.value));
}

export function encodeInsertHeader(index: number, h: HeaderField): Buffer {
  return encodePacket(Reply.INSHEADER, u32(index), cstrings(h.name, h.value));
}

export function encodeChangeHeader(index: number, h: HeaderField): Buffer {
  return encodePacket(Reply.CHGHEADER, u32(index), cstrings(h.name, h.value));
}

/** `550 5.6.0 text`: sendmail treats `%` as a format character, so it is doubled. */
export function encodeReplyCode(reply: string): Buffer {
  return encodePacket(Reply.REPLYCODE, cstrings(reply.replace(/%/g, '%%').replace(/[\r\n]+/g, ' ')));
}
