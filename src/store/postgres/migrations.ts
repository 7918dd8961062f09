/**
 * The PostgreSQL schema, as numbered migrations applied in order at open, each once, inside one
 * transaction under an advisory lock (so several hosts starting together do not race). A database
 * whose schema is newer than the newest migration here is refused (ESTORE_VERSION), as the LevelDB
 * store refuses a newer layout: an older trackmilter would miss what the newer one writes.
 *
 * Our tables carry the `trackmilter_` prefix; GreenArrow's clickthrough_urls and clickthrough_clicks
 * are views over them, with GreenArrow's columns first and ours beside them.
 */
import type { PoolClient } from 'pg';
import { CodedError } from '../../util/errors.js';
import { StoreErrorCode } from '../errors.js';

/** pg_advisory lock keys: (TRACKMILTER_LOCK, sub-key). 0x74726b6d is 'trkm'. */
export const TRACKMILTER_LOCK = 0x74726b6d;
export const MIGRATION_LOCK = 1;
export const SWEEP_LOCK = 2;

export const MIGRATIONS: readonly string[] = [
  // 1: the tracking tables and GreenArrow's views.
  `
  CREATE TABLE trackmilter_url_rows (
    num bigserial NOT NULL UNIQUE,
    id bytea PRIMARY KEY,
    send_id text NOT NULL,
    list_id text NOT NULL,
    url text NOT NULL,
    link_name text NOT NULL,
    time timestamptz NOT NULL
  );
  CREATE INDEX trackmilter_url_rows_send ON trackmilter_url_rows (send_id, list_id, url, link_name);
  CREATE INDEX trackmilter_url_rows_time ON trackmilter_url_rows (time);

  CREATE TABLE trackmilter_messages (
    id bytea PRIMARY KEY,
    recipients jsonb NOT NULL,
    email_code text NOT NULL,
    send_id text NOT NULL,
    list_id text NOT NULL,
    queue_id text NOT NULL,
    time timestamptz NOT NULL
  );
  CREATE INDEX trackmilter_messages_send ON trackmilter_messages (send_id);
  CREATE INDEX trackmilter_messages_time ON trackmilter_messages (time);

  CREATE TABLE trackmilter_events (
    num bigserial PRIMARY KEY,
    id bytea NOT NULL UNIQUE,
    time timestamptz NOT NULL,
    type text NOT NULL,
    send_id text NOT NULL,
    list_id text NOT NULL,
    recipient text NOT NULL,
    email_code text NOT NULL,
    url text NOT NULL,
    link_name text NOT NULL,
    position integer NOT NULL,
    part text NOT NULL,
    ip text NOT NULL,
    user_agent text NOT NULL,
    machine boolean NOT NULL,
    machine_reason text,
    details jsonb,
    -- The URL row an event counts against: its URL cut at '?' (as the row's), with the same send and name.
    row_url text GENERATED ALWAYS AS (split_part(url, '?', 1)) STORED
  );
  CREATE INDEX trackmilter_events_send ON trackmilter_events (send_id, time, id);
  CREATE INDEX trackmilter_events_time ON trackmilter_events (time);

  CREATE TABLE trackmilter_suppressions (
    list_id text NOT NULL,
    address text NOT NULL,
    time timestamptz NOT NULL,
    source text NOT NULL,
    send_id text NOT NULL,
    PRIMARY KEY (list_id, address)
  );

  -- The HTML of a send's first message, for the dashboard's click map (kept once per send).
  CREATE TABLE trackmilter_send_html (
    send_id text PRIMARY KEY,
    html text NOT NULL
  );

  CREATE VIEW clickthrough_urls AS
    SELECT num AS id, send_id AS sendid, list_id AS listid, url,
           link_name, time AS last_written
      FROM trackmilter_url_rows;

  CREATE VIEW clickthrough_clicks AS
    SELECT e.num AS id,
           u.num AS urlid,
           floor(extract(epoch FROM e.time))::integer AS clicktime,
           e.recipient AS emailaddress,
           e.part::character(1) AS html_or_text,
           CASE WHEN e.email_code ~ '^[0-9]{1,9}$' THEN e.email_code::integer END AS email_code,
           e.email_code AS email_code_text,
           e.machine, e.machine_reason, e.user_agent, e.ip, e.link_name, e.position,
           e.type, e.send_id AS sendid, e.url AS full_url, e.time
      FROM trackmilter_events e
      LEFT JOIN trackmilter_url_rows u
        ON u.send_id = e.send_id AND u.list_id = e.list_id AND u.url = e.row_url AND u.link_name = e.link_name
     WHERE e.type IN ('click', 'open');
  `,
  // 2: an open's html_or_text is 'h' (GreenArrow: h for an HTML email; the pixel is only in HTML), not ' '.
  `
  CREATE OR REPLACE VIEW clickthrough_clicks AS
    SELECT e.num AS id,
           u.num AS urlid,
           floor(extract(epoch FROM e.time))::integer AS clicktime,
           e.recipient AS emailaddress,
           (CASE WHEN e.type = 'open' THEN 'h' ELSE e.part END)::character(1) AS html_or_text,
           CASE WHEN e.email_code ~ '^[0-9]{1,9}$' THEN e.email_code::integer END AS email_code,
           e.email_code AS email_code_text,
           e.machine, e.machine_reason, e.user_agent, e.ip, e.link_name, e.position,
           e.type, e.send_id AS sendid, e.url AS full_url, e.time
      FROM trackmilter_events e
      LEFT JOIN trackmilter_url_rows u
        ON u.send_id = e.send_id AND u.list_id = e.list_id AND u.url = e.row_url AND u.link_name = e.link_name
     WHERE e.type IN ('click', 'open');
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations this database lacks; throws ESTORE_VERSION for a newer schema. */
export async function migrate(client: PoolClient, where: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [TRACKMILTER_LOCK, MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS trackmilter_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const result = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM trackmilter_schema');
    const current = result.rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new CodedError(
        StoreErrorCode.VERSION,
        `PostgreSQL database ${where} has trackmilter schema version ${current}; this trackmilter knows versions up to ${SCHEMA_VERSION}`,
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1]!);
      await client.query('INSERT INTO trackmilter_schema (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
