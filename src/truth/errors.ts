/** Error codes of the machine-or-person rules. */

export const TruthErrorCode = {
  /** An address range file (ranges/*.txt or machine.ranges_dir) cannot be read or has a bad line. */
  RANGES: 'ETRUTH_RANGES',
} as const;
