import { mkdir } from 'node:fs/promises';
import { contract } from '../../shared/contract';
import type { Contract } from '../../shared/contract';
import { connectInProcess } from '../../shared/rpc/loopback';
import type { RpcClient } from '../../shared/rpc/client';
import { RpcServer } from '../../shared/rpc/server';
import { probeHardware } from './hardware';
import { LlamaRuntime } from './llama';

export interface CoreOptions {
  /** The per-user data folder; created if missing. */
  readonly dataDir: string;
}

/** The app's core services behind the contract; Electron, the headless host and tests all start it the same way. */
export interface Core {
  readonly rpc: RpcServer<Contract>;
  readonly dataDir: string;
  /** A client in this process, through the same contract and validation as the UI's. */
  connect(): RpcClient<Contract>;
  dispose(): Promise<void>;
}

export async function createCore(options: CoreOptions): Promise<Core> {
  await mkdir(options.dataDir, { recursive: true });
  const llama = new LlamaRuntime();
  const rpc = new RpcServer(contract, {
    system: {
      hardware: () => probeHardware(options.dataDir, llama),
    },
  });
  return {
    rpc,
    dataDir: options.dataDir,
    connect: () => connectInProcess(contract, rpc),
    dispose: () => llama.dispose(),
  };
}
