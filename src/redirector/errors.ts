/** Error codes of the redirector. */

export const RedirectorErrorCode = {
  /** http.trusted_proxies holds something that is not an address or CIDR range, or a truncation is out of range. */
  CONFIG: 'EREDIRECTOR_CONFIG',
  /** http.tls_cert or http.tls_key cannot be read or used at start. */
  TLS: 'ETLS',
  /** A reload (SIGHUP) could not read or use the certificate; the old one stays in use. */
  TLS_RELOAD: 'ETLS_RELOAD',
} as const;
