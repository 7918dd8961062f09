/**
 * The URL a sender writes where the built-in unsubscribe page should go, in the HTML or the text part:
 * trackmilter puts the message's one-click page (`/u/TOKEN`) in its place. A reserved `.invalid` host
 * (RFC 2606), so mail that reaches someone without trackmilter has a dead link, never someone's site.
 */
export const UNSUBSCRIBE_PLACEHOLDER = 'https://trackmilter.invalid/unsubscribe';

export function isUnsubscribePlaceholder(url: string): boolean {
  return url.length === UNSUBSCRIBE_PLACEHOLDER.length && url.toLowerCase() === UNSUBSCRIBE_PLACEHOLDER;
}
