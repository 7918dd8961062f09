/**
 * The pool of connections to PostgreSQL, made so that no connection's 'error' event can end the process.
 *
 * pg-pool listens for 'error' on a connection only while it is idle. One checked out by the store (a
 * write between two statements of its transaction, the sweep) raises it with nobody listening when the
 * server goes away (a shutdown's 57P01, a reset), and node ends the process on an unheard 'error'. So
 * every connection gets a listener of its own for its whole life; the next query on it fails, and the
 * caller of that query handles the failure as it handles any other.
 */
import pg from 'pg';
import type { Pool, PoolClient, PoolConfig } from 'pg';

export interface DroppedConnectionListeners {
  /** An idle connection was dropped; the pool discards it and the next query opens another. */
  idle: (err: Error) => void;
  /** A connection in use was dropped; its current holder sees its next query fail. */
  inUse: (err: Error) => void;
}

export function createPool(config: PoolConfig, dropped: DroppedConnectionListeners): Pool {
  const pool = new pg.Pool(config);
  const inUse = new WeakSet<PoolClient>();
  pool.on('error', (err) => dropped.idle(err));
  pool.on('acquire', (client) => inUse.add(client));
  pool.on('release', (_err, client) => inUse.delete(client));
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      if (inUse.has(client)) dropped.inUse(err);
    });
  });
  return pool;
}
