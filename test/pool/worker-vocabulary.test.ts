import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createPoolEngine } from '../../lib/index.js';
import { checkpointFolder } from '../../tools/checkpoints.js';
import { decodeInWorker, FAULTY_WORKER } from '../helpers/faults.js';

const folder = checkpointFolder();
after(() => folder.remove());

describe('the vocabulary each engine worker is handed', () => {
  it('decodes as the API thread’s tokenizer does, in every worker', async () => {
    const client = await createPoolEngine({ model: folder.build('qwen2-f32').path, workers: 2, workerModule: FAULTY_WORKER });
    try {
      const ids = client.tokenizer.encode('the journey of a request, through queue and decode: ünïcödé 🙂');
      assert.ok(ids.length > 5);
      const expected = client.tokenizer.decode(ids);
      assert.equal(await decodeInWorker(0, ids), expected);
      assert.equal(await decodeInWorker(1, ids), expected);
    } finally {
      await client.close();
    }
  });
});
