/**
 * Non-standard bounces (Exchange/Office 365 text NDRs, qmail, Gmail's old plain-text notices,
 * "original message follows"): no delivery-status part, only prose and the original headers quoted
 * in the text or attached. This reads the prose for a status code, a diagnostic and the address
 * the report is about. It is deliberately conservative: without a status code or a bounce phrase
 * the text is not a failure notice, whatever headers it quotes.
 */
import { ENHANCED_STATUS } from './dsn.js';
import { TEXT_RULES } from './classify.js';

export interface FailureNotice {
  /** Enhanced status code found in the diagnostic, or ''. */
  status: string;
  diagnostic: string;
  reportedRecipient: string;
}

/** Enhanced code of a failure (4 or 5, subjects 0 to 7): narrower than a DSN Status, as prose has version numbers. */
const FAILURE_CODE = /(?<![\w.])[45]\.[0-7]\.\d{1,3}(?![\w.])/;
/** "550 5.1.1", "550-5.1.1", "#550 5.1.1": what a receiving server actually said. */
const REPLY_WITH_CODE = /(?<![\w.])[45]\d\d[ -]#?[45]\.[0-7]\.\d{1,3}(?![\w.])/;
const REPLY_IN_CONTEXT = /\b(?:said|error|reply|returned|response|answer)\b[^0-9]{0,20}[45]\d\d(?![\w.])/i;
const BOUNCE_PHRASE =
  /undeliverable|undelivered|could ?n[o']t be delivered|can ?not be delivered|delivery (?:has |to [^\n]{0,60})?failed|failed permanently|permanent(?:ly)? (?:fatal )?error|returned mail|mail delivery (?:failed|subsystem|system)|was not delivered|unable to deliver|non-delivery|delivery status notification \(failure\)/i;
/** Lines after which a report quotes the original message. */
const ORIGINAL_MESSAGE_MARKER =
  /^[\s>-]*(?:original message|original message follows|undelivered message|original message headers|below this line is a copy of the message)/i;
const POSTFIX_RECIPIENT = /^<([^<>\s]+@[^<>\s]+)>:/;
const ADDRESS = /[^\s<>"'(),;:@[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}/;
/** Prose paragraphs are joined into one line; capping them keeps every regex here cheap. */
const MAX_PARAGRAPH_CHARS = 4096;

export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** Paragraphs (runs of non-blank lines) as single lines, whitespace collapsed. */
function paragraphs(lines: string[]): string[] {
  const out: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length > 0) out.push(current.join(' ').replace(/\s+/g, ' ').trim().slice(0, MAX_PARAGRAPH_CHARS));
    current = [];
  };
  for (const line of lines) {
    if (line.trim() === '') flush();
    else current.push(line.trim());
  }
  flush();
  return out;
}

const HEADERISH = /^(?:[!-9;-~]+[ \t]*:|[ \t])/;

/**
 * The prose before the quoted original: up to an "original message" marker, or up to the first
 * line of the header block that holds `quotedHeaderLine` (the block runs back while lines look like
 * header fields or their continuations), whichever comes first.
 */
export function noticeLines(lines: string[], quotedHeaderLine?: number): string[] {
  let end = lines.length;
  const marker = lines.findIndex((line) => ORIGINAL_MESSAGE_MARKER.test(line));
  if (marker !== -1) end = marker;
  if (quotedHeaderLine !== undefined) {
    let start = quotedHeaderLine;
    while (start > 0 && lines[start - 1]!.trim() !== '' && HEADERISH.test(lines[start - 1]!)) start--;
    end = Math.min(end, start);
  }
  return lines.slice(0, end);
}

/** True when the text reads like a failure notice at all. */
function hasFailureEvidence(text: string): boolean {
  return FAILURE_CODE.test(text) || REPLY_IN_CONTEXT.test(text) || BOUNCE_PHRASE.test(text);
}

function pickDiagnostic(paras: string[]): string | undefined {
  const tests: Array<(p: string) => boolean> = [
    (p) => REPLY_WITH_CODE.test(p),
    (p) => FAILURE_CODE.test(p),
    (p) => REPLY_IN_CONTEXT.test(p),
    (p) => TEXT_RULES.some((rule) => rule.pattern.test(p)),
    (p) => BOUNCE_PHRASE.test(p),
  ];
  for (const test of tests) {
    const hit = paras.find(test);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function reportedRecipientOf(diagnostic: string, paras: string[], failedRecipients: string[]): string {
  const fromHeader = failedRecipients.map((v) => ADDRESS.exec(v)?.[0]).find((a) => a !== undefined);
  if (fromHeader) return fromHeader;
  // Postfix and qmail start each recipient's paragraph with "<address>:".
  const postfix = POSTFIX_RECIPIENT.exec(diagnostic)?.[1] ?? paras.map((p) => POSTFIX_RECIPIENT.exec(p)?.[1]).find((a) => a !== undefined);
  if (postfix) return postfix;
  return ADDRESS.exec(diagnostic)?.[0] ?? '';
}

/**
 * Reads a failure notice from the notice's prose lines. `failedRecipients` are the report's own
 * X-Failed-Recipients values (Exim, Gmail), the most direct statement of who failed.
 */
export function readFailureNotice(lines: string[], failedRecipients: string[]): FailureNotice | null {
  const paras = paragraphs(lines);
  const text = paras.join('\n');
  if (!hasFailureEvidence(text)) return null;
  const diagnostic = pickDiagnostic(paras) ?? '';
  return {
    status: REPLY_WITH_CODE.exec(diagnostic)?.[0].match(ENHANCED_STATUS)?.[0] ?? FAILURE_CODE.exec(diagnostic)?.[0] ?? '',
    diagnostic,
    reportedRecipient: reportedRecipientOf(diagnostic, paras, failedRecipients),
  };
}

const PROSE_REPORTING_MTA =
  /(?:mail system at host|generating server:|dsn generated by:|this message was generated by)\s*([A-Za-z0-9][A-Za-z0-9.-]{0,252}[A-Za-z0-9])/i;

/** The reporting host a notice names in its prose (Postfix, Exchange, Office 365, sendmail). */
export function reportingMtaInProse(lines: string[]): string {
  for (const line of lines.slice(0, 400)) {
    const match = PROSE_REPORTING_MTA.exec(line);
    if (match) return match[1]!;
  }
  return '';
}
