/** Link identity: keys, tokens, link styles and the X-Mailer-Info-Extra header. */
export { addKey, createKeyring, keyFilePath, keysDir, loadKeyring, signingKey, type Keyring, type SigningKey } from './keyring.js';
export type { RecipientIdentity } from './identity.js';
export { decodeInfoHeader, encodeInfoHeader, INFO_HEADER_NAME, type DecodedInfoHeader, type InfoHeaderFields } from './info-header.js';
export type { Rejection, RejectionCode } from './seal.js';
export {
  decodeToken,
  MAX_TOKEN_CHARS,
  mintStatefulClick,
  mintStatefulOpen,
  mintStatelessClick,
  mintStatelessOpen,
  type DecodedToken,
  type StatefulClick,
  type StatefulOpen,
  type StatelessClick,
  type StatelessOpen,
  type TokenKind,
  type TokenRejection,
} from './tokens.js';
export { clickDestination, joinQuery, ROW_ID_BYTES, splitQuery, urlRowId, type UrlRowContent } from './url-row.js';
export { clickLink, openLink, type LinkStyle, type TrackingOrigin } from './url-style.js';
