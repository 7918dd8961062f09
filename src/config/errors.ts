/** Error codes of the configuration. */

export const ConfigErrorCode = {
  /** A key has a value it cannot take, is unknown, or a file it names is unusable; every problem is listed. */
  INVALID: 'ECONFIG',
  /** The config file cannot be read. */
  READ: 'ECONFIG_READ',
  /** The config file is not valid TOML. */
  SYNTAX: 'ECONFIG_SYNTAX',
} as const;
