/** Error codes of the metrics registry. */

export const MetricsErrorCode = {
  /** A metric was registered or used against its definition (a bug in trackmilter, not a setting). */
  INVALID: 'EMETRICS',
} as const;
