/** Error codes of the milter: the protocol engine, its listener and the MTA-side client (`trackmilter try`). */

export const MilterErrorCode = {
  /** The client could not connect to the milter (refused, or no answer within the timeout). */
  CONNECT: 'EMILTER_CONNECT',
  /** The milter closed the connection before its answer. */
  EOF: 'EMILTER_EOF',
  /** The milter did not answer within the timeout. */
  TIMEOUT: 'EMILTER_TIMEOUT',
  /** Option negotiation failed: a short or unexpected OPTNEG packet. */
  OPTNEG: 'EMILTER_OPTNEG',
  /** The MTA offers a milter protocol version older than 2. */
  VERSION: 'EMILTER_VERSION',
  /** A command arrived out of order (before negotiation); the connection is closed. */
  SEQUENCE: 'EMILTER_SEQUENCE',
  /** A packet length of 0 or over milter.max_packet_bytes; the connection is closed. */
  FRAME_LENGTH: 'EMILTER_FRAME_LENGTH',
  /** Input after a bad frame on a connection that must close (internal guard). */
  DECODER_FAILED: 'EMILTER_DECODER_FAILED',
  /** The MTA closed the connection during end of message; the filter work is abandoned. */
  CLOSED: 'EMILTER_CLOSED',
  /** The filter overran milter.filter_timeout_ms; milter.on_error applies to the message. */
  FILTER_TIMEOUT: 'EFILTER_TIMEOUT',
  /** milter.socket_group names no group on this system. */
  SOCKET_GROUP: 'ESOCKET_GROUP',
} as const;
