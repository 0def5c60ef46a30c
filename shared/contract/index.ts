import { systemService } from './system';

/** The one declaration every binding (IPC, WebSocket, renderer client, CLI) is derived from. */
export const contract = {
  system: systemService,
};
export type Contract = typeof contract;
