// A fleet on one PostgreSQL: a private cluster (test/helpers/postgres.ts), one database, two `serve`
// daemons (their own processes) on it. A mints the links, for its own address; B holds only A's
// signing keys, copied, as the README tells operators to do. Used by the app test (A's milter driven
// directly), the e2e test (A's milter in a real Postfix) and bench:fleet.
import path from 'node:path';
import { startPostgres, type PostgresCluster } from '../../helpers/postgres.js';
import { DaemonProcess, TempDirs, copyKeys, freePort } from './processes.js';

/**
 * A host's configuration: its store (LevelDB in its data dir unless a PostgreSQL URL is given), links
 * minted for `linkHost`, and no click judged too fast to be a person's (tests click at once).
 */
export function hostConfigToml(linkHost: string, postgresUrl?: string): string {
  const store = postgresUrl === undefined ? '' : `[store]\nbackend = "postgres"\npostgres_url = "${postgresUrl}"\n\n`;
  return `${store}[tracking]\ndomain = "${linkHost}"\nscheme = "http"\n\n[http]\nfast_click_seconds = 0\n`;
}

export interface Fleet {
  cluster: PostgresCluster;
  /** The database both hosts use. */
  databaseUrl: string;
  hostA: DaemonProcess;
  hostB: DaemonProcess;
  /** A link minted by A (http://A/...), the same path on B. */
  throughB(link: string): string;
  /** Stops both hosts and the cluster, removes every directory. */
  stop(): Promise<void>;
}

export async function startFleet(): Promise<Fleet> {
  const dirs = new TempDirs();
  const cluster = await startPostgres();
  let hostA: DaemonProcess | undefined;
  let hostB: DaemonProcess | undefined;
  const stop = async (): Promise<void> => {
    await hostA?.stop();
    await hostB?.stop();
    await cluster.stop();
    await dirs.cleanup();
  };
  try {
    const databaseUrl = cluster.url(await cluster.createDatabase());
    const portA = await freePort();
    const config = hostConfigToml(`127.0.0.1:${portA}`, databaseUrl);
    const dataA = path.join(await dirs.make(), 'data');
    hostA = await DaemonProcess.start({ role: 'serve', dataDir: dataA, httpPort: portA, configToml: config });
    const dataB = path.join(await dirs.make(), 'data');
    await copyKeys(dataA, dataB);
    hostB = await DaemonProcess.start({ role: 'serve', dataDir: dataB, configToml: config });
    const [a, b] = [hostA, hostB];
    return { cluster, databaseUrl, hostA: a, hostB: b, throughB: (link) => b.baseUrl + link.slice(a.baseUrl.length), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
