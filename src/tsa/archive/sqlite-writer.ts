// Worker thread of the issuance archive: commits each batch it receives in one durable
// transaction and answers when it is on disk (group commit off the event loop).
import { parentPort, workerData } from 'node:worker_threads';
import { decodeBatch, type BatchMessage } from './batch-message.js';
import { createBatchWriter, openArchiveDatabase } from './sqlite.js';

const { path } = workerData as { path: string };
const write = createBatchWriter(openArchiveDatabase(path));

parentPort?.on('message', (batch: BatchMessage) => {
  try {
    write(decodeBatch(batch));
    parentPort?.postMessage({ ok: true });
  } catch (error) {
    parentPort?.postMessage({
      ok: false,
      error: error instanceof Error ? error.message : 'unknown',
    });
  }
});
