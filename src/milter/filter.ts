// The contract between the protocol engine and what decides a message's fate.
import type { ConnectInfo, EnvelopeAddress, HeaderField } from './commands.js';

export interface MessageContext {
  /** Postfix/sendmail queue id (macro `i`), or '' when the MTA did not send it. */
  queueId: string;
  connect: ConnectInfo | null;
  helo: string;
  from: EnvelopeAddress | null;
  recipients: EnvelopeAddress[];
  /** Headers in arrival order; values without the single leading space SMTP puts after the colon. */
  headers: HeaderField[];
  /** The whole body as the MTA sent it (CRLF line ends). */
  body: Buffer;
  /** Latest value of a macro over all stages so far (name with or without braces). */
  macro(name: string): string | undefined;
  /** False when the MTA did not offer body replacement (SMFIF_CHGBODY): a new body would be dropped. */
  bodyReplaceable?: boolean;
}

export type HeaderChange =
  | { op: 'add'; name: string; value: string }
  /** index 0 = before every other header. */
  | { op: 'insert'; index: number; name: string; value: string }
  /** index is 1-based among headers of that name; an empty value deletes the header. */
  | { op: 'change'; index: number; name: string; value: string };

export type Verdict = { kind: 'accept' } | { kind: 'discard' } | { kind: 'reject'; reply?: string } | { kind: 'tempfail'; reply?: string };

export interface FilterResult {
  headerChanges?: HeaderChange[];
  /**
   * Envelope recipients to remove (SMFIR_DELRCPT), each as the MTA gave it in RCPT TO (without angle
   * brackets). Removing every recipient is the filter's to avoid: say discard instead.
   */
  removeRecipients?: string[];
  /** A replacement body, CRLF line ends; absent = body unchanged. */
  body?: Buffer;
  verdict?: Verdict;
  /** Set when the filter passed the message over on purpose (a limit, a signed message...): logged as `skipped`. */
  skipped?: { reason: string; detail: string };
  /** Extra fields for the per-message log line (reason for a skip, links rewritten, ...). */
  log?: Record<string, unknown>;
  /** Limits hit without passing the message over (max-links: links past it left as they are); logged and counted. */
  limitsHit?: string[];
}

export interface MessageFilter {
  /** Called once per message at end of message. The signal aborts when the MTA goes away or the budget runs out. */
  endOfMessage(ctx: MessageContext, signal: AbortSignal): Promise<FilterResult> | FilterResult;
}

/** What to do with a message when the filter throws or overruns its budget. */
export type FailurePolicy = 'accept' | 'tempfail';
