/** Link identity: keys, tokens, link styles and the X-Mailer-Info-Extra header. */
export { addKey, createKeyring, loadKeyring, signingKey, type Keyring } from './keyring.js';
export type { RecipientIdentity } from './identity.js';
export { decodeInfoHeader, encodeInfoHeader, INFO_HEADER_NAME, type InfoHeaderFields } from './info-header.js';
export type { RejectionCode } from './seal.js';
export { decodeToken, mintStatefulClick, mintStatefulOpen, mintStatelessClick, mintStatelessOpen, statefulClickMinter } from './tokens.js';
export { clickDestination, splitQuery, urlRowId } from './url-row.js';
export { clickLink, clickLinkMaker, openLink, type TrackingOrigin } from './url-style.js';
