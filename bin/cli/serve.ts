import { fileURLToPath } from 'node:url';
import { startHeadlessHost } from '../../electron/headless/host';
import { createCore } from '../../electron/core/services';
import { defineCommand, UsageError } from './command';
import { decimalInt } from './withCore';

const STATIC_DIR = fileURLToPath(new URL('../renderer', import.meta.url));

export const serve = defineCommand({
  name: 'serve',
  summary: 'Run the app headless: serve the UI and the API on 127.0.0.1, print the URL (with its access token).',
  options: {
    port: { type: 'string', placeholder: 'N', description: 'port to listen on (default: a free one)' },
  },
  async run(values) {
    const port = values.port === undefined ? 0 : decimalInt(values.port, '--port', 0, 65535);
    // The headless host is the whole app: it runs training jobs too.
    const core = await createCore({ dataDir: values['data-dir'], runJobs: true });
    const host = await startHeadlessHost({ rpc: core.rpc, staticDir: STATIC_DIR, port }).catch(async (error: NodeJS.ErrnoException) => {
      await core.dispose();
      if (error.code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; choose another with --port, or leave it out`);
      throw error;
    });
    console.log(`Architect.AI Studio is running at ${host.url}`);
    console.log(`Data folder: ${core.dataDir}`);
    console.log('Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log('Stopping…');
    await host.close();
    await core.dispose();
    return 0;
  },
});
