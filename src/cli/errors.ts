/** Error codes of the command line and of commands that ask the running daemon. */

export const CliErrorCode = {
  /** A command was given an unknown flag, a missing argument or a value it cannot take. */
  USAGE: 'EUSAGE',
  /** The daemon does not answer at http.listen (not running, or another address). */
  DAEMON_UNREACHABLE: 'EDAEMON_UNREACHABLE',
  /** The daemon answered with an error (a wrong admin token: check --data). */
  DAEMON_REFUSED: 'EDAEMON_REFUSED',
} as const;
