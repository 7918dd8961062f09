/**
 * One verdict from many reasons. Most reasons are enough on their own; the weak ones (a click before
 * any open, an event soon after delivery) are each common among people too, and count only together.
 */

export const WEAK_REASONS: ReadonlySet<string> = new Set(['early', 'no-open']);

/** How many weak reasons make a machine when no strong one is there. */
export const WEAK_REASONS_NEEDED = 2;

/** The machineReason to record (comma-separated), or undefined for a person. */
export function verdictOf(reasons: readonly string[]): string | undefined {
  // Nearly every event has no reason or one: the answer without building lists.
  if (reasons.length === 0) return undefined;
  if (reasons.length === 1) return WEAK_REASONS.has(reasons[0]!) && WEAK_REASONS_NEEDED > 1 ? undefined : reasons[0];
  const strong = reasons.filter((r) => !WEAK_REASONS.has(r));
  if (strong.length > 0) return strong.join(',');
  const weak = reasons.filter((r) => WEAK_REASONS.has(r));
  return weak.length >= WEAK_REASONS_NEEDED ? weak.join(',') : undefined;
}

/** The reasons of a comma-separated machineReason. */
export function reasonsOf(machineReason: string | undefined): string[] {
  return machineReason ? machineReason.split(',') : [];
}

/** The rule a reason belongs to, for counting: `scanner:mimecast` -> `scanner`, `range:proofpoint` -> `range`. */
export function ruleOf(reason: string): string {
  const colon = reason.indexOf(':');
  return colon === -1 ? reason : reason.slice(0, colon);
}
