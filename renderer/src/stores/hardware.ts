import { create } from 'zustand';
import type { HardwareInfo } from '../../../shared/contract/system';
import { api } from '../api/client';

interface HardwareState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  info: HardwareInfo | undefined;
  error: string | undefined;
  load(): Promise<void>;
}

export const useHardware = create<HardwareState>((set, get) => ({
  status: 'idle',
  info: undefined,
  error: undefined,
  load: async () => {
    if (get().status === 'loading') return;
    set({ status: 'loading', error: undefined });
    try {
      set({ status: 'ready', info: await api.system.hardware({}) });
    } catch (error) {
      set({ status: 'error', error: error instanceof Error ? error.message : String(error) });
    }
  },
}));
