/**
 * The "name: value" groups of message/delivery-status and message/feedback-report bodies
 * (RFC 3464 section 2.1, RFC 5965 section 3.1): header-like fields in groups separated by blank
 * lines. Generators differ (LF or CRLF, whitespace-only separator lines, stray non-field lines,
 * MIME headers mixed into the groups), so lines that are not fields are skipped, not fatal.
 */

export interface ReportField {
  /** Lower-cased field name. */
  name: string;
  /** Value with folding removed and surrounding blanks trimmed. */
  value: string;
}

export type FieldGroup = ReportField[];

const FIELD_LINE = /^([!-9;-~]+)[ \t]*:(.*)$/;
const MAX_FIELDS = 2000;

export function parseFieldGroups(text: string): FieldGroup[] {
  const groups: FieldGroup[] = [];
  let group: FieldGroup = [];
  let current: ReportField | null = null;
  let total = 0;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.trim() === '') {
      if (group.length > 0) groups.push(group);
      group = [];
      current = null;
      continue;
    }
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current.value = `${current.value} ${line.trim()}`.trim();
      continue;
    }
    const match = FIELD_LINE.exec(line);
    if (!match || total >= MAX_FIELDS) {
      current = null;
      continue;
    }
    current = { name: match[1]!.toLowerCase(), value: match[2]!.trim() };
    group.push(current);
    total++;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export function firstValue(fields: FieldGroup, name: string): string {
  return fields.find((f) => f.name === name)?.value ?? '';
}

export function allValues(fields: FieldGroup, name: string): string[] {
  return fields.filter((f) => f.name === name).map((f) => f.value);
}

/**
 * The value after a type prefix, as in `rfc822; user@example.com`, `dns; mx.example.com` or
 * `smtp; 550 5.1.1 ...`. A value without a `;` is returned whole (some generators omit the type).
 */
export function withoutTypePrefix(value: string): string {
  const match = /^[A-Za-z0-9][A-Za-z0-9.+-]*[ \t]*;[ \t]*/.exec(value);
  return match ? value.slice(match[0].length) : value;
}

/** An address field value: type prefix, angle brackets and RFC 6533 `\x{HEX}` escapes removed. */
export function addressValue(value: string): string {
  const bare = withoutTypePrefix(value).trim();
  const unbracketed = /^<([^<>]*)>$/.exec(bare)?.[1] ?? bare;
  return unbracketed.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (whole, hex: string) => {
    const code = parseInt(hex, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}
