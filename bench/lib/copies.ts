/**
 * The subscriber's own part of the links of both bench newsletters: the id in the queries of bench:mta's
 * (../shared/bench/make-newsletter.py, in quoted-printable) and the address's local part in our own
 * (test/app/helpers/newsletter.ts).
 */
const SUBSCRIBER = /(?<=subscriber=3D)\d{5}|reader(?=%40mail\.example)/g;

/**
 * Copies of one send, as a list's mail is: the same message with a subscriber id of its own in each. The
 * id each copy gets has the length of the one it replaces, so quoted-printable lines keep theirs.
 */
export function subscriberCopies(message: Buffer, copies: number): Buffer[] {
  const text = message.toString('latin1');
  if (text.search(SUBSCRIBER) === -1) throw new Error(`no subscriber id matching ${String(SUBSCRIBER)} to personalize`);
  return Array.from({ length: copies }, (_, copy) =>
    Buffer.from(
      text.replace(SUBSCRIBER, (id) => String(copy).padStart(id.length, '0').slice(-id.length)),
      'latin1',
    ),
  );
}
