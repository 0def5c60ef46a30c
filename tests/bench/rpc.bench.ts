import { createCore } from '../../electron/core/services';
import { makeTempDir } from '../helpers/tempDir';
import { percentile } from './figures';
import type { BenchSuite } from './figures';

/** Round trip of one contract call in process (validation, cloning, dispatch): the floor under every UI action. */
export const rpcSuite: BenchSuite = {
  name: 'rpc',
  async run(record) {
    const dir = makeTempDir('architect-bench-');
    const core = await createCore({ dataDir: dir.path });
    try {
      const client = core.connect();
      await client.api.system.hardware({});
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const start = performance.now();
        await client.api.system.hardware({});
        times.push(performance.now() - start);
      }
      record({ name: 'system.hardware.p50', value: percentile(times, 50), unit: 'ms', note: 'probe incl. systeminformation' });
    } finally {
      await core.dispose();
      dir.remove();
    }
  },
};
