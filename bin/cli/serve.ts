import { fileURLToPath } from 'node:url';
import { CoreHolder } from '../../electron/core/app/coreHolder';
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
    // The headless host is the whole app: it runs training jobs too. The holder lets Settings move the data folder.
    const holder = await CoreHolder.start({
      root: values['data-root'] ?? values['data-dir'],
      dataDir: values['data-dir'],
      start: (dataDir) => createCore({ dataDir, runJobs: true }),
    });
    const host = await startHeadlessHost({ rpc: holder, staticDir: STATIC_DIR, port }).catch(async (error: NodeJS.ErrnoException) => {
      await holder.close();
      if (error.code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; choose another with --port, or leave it out`);
      throw error;
    });
    holder.onSwap((core) => console.log(`Data folder: ${core.dataDir}`));
    console.log(`Architect.AI Studio is running at ${host.url}`);
    console.log(`Data folder: ${holder.dataDir}`);
    console.log('Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log('Stopping…');
    await host.close();
    // A running job is paused at its next step first (quitCore), and a move under way finishes.
    const said = await holder.close();
    if (said) console.log(said);
    return 0;
  },
});
