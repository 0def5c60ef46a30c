import { create } from 'zustand';
import { contract } from '../../../shared/contract';
import { createClient } from '../../../shared/rpc/client';
import { pickTransport } from './transport';

const transport = pickTransport();

/** The typed contract, the same whichever transport is underneath. */
export const client = createClient(contract, transport);
export const api = client.api;

interface ConnectionState {
  /** Why the app cannot be reached, once the pipe has closed. */
  lostReason: string | undefined;
}

export const useConnection = create<ConnectionState>(() => ({ lostReason: undefined }));
transport.onClose?.((reason) => useConnection.setState({ lostReason: reason }));
