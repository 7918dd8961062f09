/**
 * Reads smtp-sink's dumps a few hundred at a time: PostfixLab.readDeliveredMessages opens them all at
 * once, which runs out of file descriptors (EMFILE) at tens of thousands of messages.
 */
import fs from 'node:fs/promises';
import { parseSinkDump, type DeliveredMessage, type PostfixLab } from '../../test/helpers/postfix-lab.js';

export async function readDumpsInBatches(lab: PostfixLab, batchSize = 256): Promise<DeliveredMessage[]> {
  const files = await lab.deliveredFiles();
  const messages: DeliveredMessage[] = [];
  for (let start = 0; start < files.length; start += batchSize) {
    const batch = files.slice(start, start + batchSize);
    messages.push(...(await Promise.all(batch.map(async (file) => parseSinkDump(file, await fs.readFile(file))))));
  }
  return messages;
}
