/**
 * A daemon and a private Postfix pointing at it, torn down together whatever happens: every
 * scenario that pushes mail through Postfix runs inside withRig().
 */
import { TrackmilterDaemon, type DaemonOptions } from '../../test/helpers/daemon.js';
import { PostfixLab, type PostfixLabOptions } from '../../test/helpers/postfix-lab.js';

export interface Rig {
  daemon: TrackmilterDaemon;
  lab: PostfixLab;
}

export async function withRig<T>(options: { daemon?: DaemonOptions; lab?: Omit<PostfixLabOptions, 'milter'> }, body: (rig: Rig) => Promise<T>): Promise<T> {
  const daemon = await TrackmilterDaemon.start(options.daemon ?? {});
  let lab: PostfixLab | undefined;
  try {
    lab = await PostfixLab.start({ defaultAction: 'tempfail', ...options.lab, milter: daemon.postfixSpec });
    return await body({ daemon, lab });
  } finally {
    await lab?.stop().catch((error: unknown) => console.error(`stopping the Postfix lab: ${String(error)}`));
    await daemon.dispose().catch((error: unknown) => console.error(`stopping the daemon: ${String(error)}`));
  }
}

/** Seconds between two times in ms, rounded to 0.01. */
export function seconds(fromMs: number, toMs: number): number {
  return Math.round((toMs - fromMs) / 10) / 100;
}
