// A tracking worker thread: prepareTracking on the messages the main thread hands it, the body moved
// in and the rewritten body moved back. Its own caches: row ids are a keyed hash of the row's content
// and URL verdicts a function of the URL and the config, so each worker working them out again gets
// the same; the caches only save the work.
import { parentPort, workerData } from 'node:worker_threads';
import { createKeyring } from '../tokens/index.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { trackingHosts } from './settings.js';
import { TrackingCaches } from './tracking-caches.js';
import { prepareTracking } from './tracking-filter.js';
import { packOutcome, workOutcome } from './work-outcome.js';
import { reviveEnvelope, type WorkerInit, type WorkerJob, type WorkerReply } from './worker-messages.js';

const port = parentPort;
if (!port) throw new Error('tracking-worker runs as a worker thread');
const init = workerData as WorkerInit;
const keyring = createKeyring(init.keyring.keys, init.keyring.currentKid);
const caches = new TrackingCaches(trackingHosts(init.config));

port.on('message', (job: WorkerJob) => {
  try {
    const { reply, transfer } = packOutcome(workOutcome(prepareTracking(reviveEnvelope(job.msg), init.config, keyring, caches)));
    port.postMessage({ id: job.id, kind: 'done', outcome: reply } satisfies WorkerReply, transfer);
  } catch (err) {
    port.postMessage({ id: job.id, kind: 'error', code: errorCode(err), message: errorMessage(err) } satisfies WorkerReply);
  }
});
port.postMessage({ kind: 'ready' } satisfies WorkerReply);
