/**
 * Copies of one send, as a list's mail is: the same body with a subscriber id of its own in each. The
 * id each copy gets has the length of the one it replaces, so quoted-printable lines keep theirs.
 */
export function subscriberCopies(body: Buffer, subscriber: RegExp, copies: number): Buffer[] {
  const text = body.toString('latin1');
  if (text.search(subscriber) === -1) throw new Error(`no subscriber id matching ${String(subscriber)} to personalize`);
  return Array.from({ length: copies }, (_, copy) =>
    Buffer.from(
      text.replace(subscriber, (id) => String(copy).padStart(id.length, '0').slice(-id.length)),
      'latin1',
    ),
  );
}
