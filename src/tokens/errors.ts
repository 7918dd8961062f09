/** Error codes of signing keys and tokens. */

export const TokensErrorCode = {
  /** A key file is not a regular file holding a 32-byte base64 key. */
  KEY_INVALID: 'EKEY_INVALID',
  /** A key file is readable or writable by others; chmod 600 it. */
  KEY_MODE: 'EKEY_MODE',
  /** keys/current is unreadable or names a key that has no file. */
  KEY_CURRENT: 'EKEY_CURRENT',
  /** keys/ already holds the most keys a key id can name; remove the oldest. */
  KEY_FULL: 'EKEY_FULL',
  /** A link would carry a token over the length limit (a stateless link with a very long URL); the link is left as it was. */
  TOKEN_TOO_LONG: 'ETOKEN_TOO_LONG',
} as const;
