/** Error codes of the admin API. */

export const AdminErrorCode = {
  /** The admin token file (DATA/admin.token) cannot be created or read, or is readable by others. */
  TOKEN: 'EADMIN_TOKEN',
} as const;
