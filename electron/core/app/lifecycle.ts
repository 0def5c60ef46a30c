import type { Core } from '../services';

/**
 * The quit path of the desktop app and the headless host: says what quitting waits for ("Pausing training job 4
 * at its next step; …"), then disposes the core, whose supervisor pauses a running job with a checkpoint and
 * waits for it. Resolves with what was said (null when no job ran here) once everything is closed.
 */
export async function quitCore(core: Core): Promise<string | null> {
  const message = core.services.app.announceQuit();
  await core.dispose();
  return message;
}
