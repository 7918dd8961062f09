// Option negotiation: what we ask for, masked to what the MTA offers.
import { Action, MILTER_MAX_VERSION, MILTER_MIN_VERSION, Proto, PROTO_INTERNAL_MASK } from './constants.js';
import type { OptNeg } from './commands.js';
import { CodedError } from '../util/errors.js';
import { MilterErrorCode } from './errors.js';

/** libmilter's SMFI_V1_ACTS: what an MTA that sends an action word of 0 allows. */
const V1_ACTIONS = Action.ADDHDRS | Action.CHGBODY | Action.ADDRCPT | Action.DELRCPT;

/**
 * Steps we never need a reply for (we decide at end of message only) and steps we never need at all.
 * Each is only asked for when the MTA offers it; otherwise we reply to the step as usual.
 */
export const WANTED_PROTOCOL =
  Proto.NR_CONN |
  Proto.NR_HELO |
  Proto.NR_MAIL |
  Proto.NR_RCPT |
  Proto.NR_DATA |
  Proto.NR_UNKN |
  Proto.NR_HDR |
  Proto.NR_EOH |
  Proto.NR_BODY |
  Proto.NOUNKNOWN |
  Proto.HDR_LEADSPC;

/** Headers added and changed, the body replaced, and unsubscribed recipients removed (DELRCPT). */
export const WANTED_ACTIONS = Action.ADDHDRS | Action.CHGHDRS | Action.CHGBODY | Action.DELRCPT;

export function negotiate(offer: OptNeg, wantedActions = WANTED_ACTIONS, wantedProtocol = WANTED_PROTOCOL): OptNeg {
  if (offer.version < MILTER_MIN_VERSION) {
    throw new CodedError(MilterErrorCode.VERSION, `MTA offers milter protocol version ${offer.version}, need ${MILTER_MIN_VERSION} or later`);
  }
  const offeredActions = offer.actions === 0 ? V1_ACTIONS : offer.actions;
  const offeredProtocol = offer.protocol & ~PROTO_INTERNAL_MASK;
  return {
    version: Math.min(offer.version, MILTER_MAX_VERSION),
    actions: wantedActions & offeredActions,
    protocol: wantedProtocol & offeredProtocol,
  };
}
