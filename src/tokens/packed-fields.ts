/**
 * The variable part of stateless tokens and the info header: one flags byte, then the fields, deflated
 * when that makes them shorter. Bits 0-1 of the flags belong to the caller; bit 2 says "deflated".
 */
import { deflateFields, inflateFields } from './compress.js';

const DEFLATED = 0b100;
const CALLER_BITS = 0b011;

/** `tryDeflate` false packs the fields as they are, without the cost of a zlib stream. */
export function packFields(fields: Buffer, callerFlags: number, tryDeflate = true): Buffer {
  if ((callerFlags & ~CALLER_BITS) !== 0) throw new RangeError(`caller flags use bits 0-1 only: ${callerFlags}`);
  const deflated = tryDeflate ? deflateFields(fields) : fields;
  const useDeflated = deflated.length < fields.length;
  const flags = callerFlags | (useDeflated ? DEFLATED : 0);
  return Buffer.concat([Buffer.of(flags), useDeflated ? deflated : fields]);
}

/** The caller's flag bits and the plain fields, or null when the packing is not valid. */
export function unpackFields(packed: Buffer): { callerFlags: number; fields: Buffer } | null {
  const flags = packed[0];
  if (flags === undefined || (flags & ~(CALLER_BITS | DEFLATED)) !== 0) return null;
  const rest = packed.subarray(1);
  const fields = (flags & DEFLATED) !== 0 ? inflateFields(rest) : rest;
  return fields ? { callerFlags: flags & CALLER_BITS, fields } : null;
}
