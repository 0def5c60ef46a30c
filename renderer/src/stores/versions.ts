import { create } from 'zustand';
import type { GeneratedKind } from '../../../shared/contract/generation';
import type { ActivateArgs, ActiveChoice, Activation, GateResult, OperationProgress, Version } from '../../../shared/contract/versions';
import { AppError } from '../../../shared/errors';
import { api, client } from '../api/client';
import { messageOf } from './errors';
import type { Notice } from './models';

/** A `versions.gated` event, kept until the user dismisses it. */
export interface GatedNotice {
  readonly versionId: number;
  readonly number: number;
  readonly baseName: string;
  readonly jobType: 'manual' | 'adaptive';
  readonly activated: boolean;
  readonly gate: GateResult;
}

/** An export or a publish the page started, followed through `versions.progress` by its operation id. */
export interface Operation {
  readonly operationId: string;
  readonly type: 'export' | 'publish';
  readonly versionId: number;
  readonly running: boolean;
  readonly progress: OperationProgress | undefined;
  /** The outcome once it ended: what was written or published, or the server's error as it is. */
  readonly notice: Notice | undefined;
}

/** What a compare call came back with, or why it failed. */
export interface CompareState {
  readonly running: boolean;
  /** The sides' labels while it runs ("v1", "base"), for the progress line. */
  readonly labels: readonly [string, string] | undefined;
  readonly result: Awaited<ReturnType<typeof api.versions.compare>> | undefined;
  readonly error: string | undefined;
}

/** A server refusal the user can answer: a kind served by another base needs an explicit switch of base. */
export interface SwitchBaseRequest {
  readonly args: ActivateArgs;
  readonly message: string;
}

interface VersionsState {
  versions: Version[];
  active: ActiveChoice[];
  history: Activation[];
  loaded: boolean;
  /** Why the list could not be read. */
  error: string | undefined;
  /** The gate's verdicts that arrived while the app was open, newest first. */
  gated: GatedNotice[];
  /** Outcome of the latest action per place on the page: `version:<id>`, `kind:<kind>`, `base:<modelId>`, `group:<base sha256>`. */
  notices: Record<string, Notice>;
  /** Keys of `notices` with a call in flight. */
  busy: string[];
  /** The activation waiting for the user's "switch base" answer, by the key of the place that asked. */
  switchBase: Record<string, SwitchBaseRequest>;
  operations: Operation[];
  compare: CompareState;
  load(): Promise<void>;
  /** Activates; a "switch base" refusal is kept in `switchBase[key]` for the user to confirm or drop. */
  activate(key: string, args: ActivateArgs): Promise<boolean>;
  cancelSwitch(key: string): void;
  rollback(kind: GeneratedKind, to?: number | 'base'): Promise<boolean>;
  undo(kind: GeneratedKind): Promise<boolean>;
  remove(version: Version): Promise<boolean>;
  exportVersion(version: Version, merged: boolean, outPath: string): Promise<void>;
  publish(version: Version, name: string, route: 'merged' | 'adapter'): Promise<void>;
  runCompare(args: Parameters<typeof api.versions.compare>[0], labels: [string, string]): Promise<void>;
  dismissGated(versionId: number): void;
  clearNotice(key: string): void;
}

function newOperationId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `op${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

const serving = (choice: ActiveChoice) => `${choice.version ? `v${choice.version.number}` : 'the plain base'} of ${choice.modelName}`;

/** The Models page's versions section and the Generate page's "What serves this kind": the registry, its actions, their progress. */
export const useVersions = create<VersionsState>((set, get) => {
  const note = (key: string, notice: Notice | undefined) => {
    const { [key]: _old, ...rest } = get().notices;
    set({ notices: notice ? { ...rest, [key]: notice } : rest });
  };
  /** Runs one call for a place on the page: one at a time there, its outcome in `notices[key]`. */
  const act = async (key: string, work: () => Promise<string>): Promise<boolean> => {
    if (get().busy.includes(key)) return false;
    set({ busy: [...get().busy, key] });
    note(key, undefined);
    try {
      note(key, { tone: 'ok', text: await work() });
      return true;
    } catch (error) {
      note(key, { tone: 'error', text: messageOf(error) });
      return false;
    } finally {
      set({ busy: get().busy.filter((b) => b !== key) });
      void get().load();
    }
  };
  const updateOperation = (operationId: string, patch: Partial<Operation>) =>
    set({ operations: get().operations.map((o) => (o.operationId === operationId ? { ...o, ...patch } : o)) });
  const startOperation = (type: Operation['type'], versionId: number): string => {
    const operationId = newOperationId();
    // One operation of a type per version is shown: the newest.
    const others = get().operations.filter((o) => o.running || o.type !== type || o.versionId !== versionId);
    set({ operations: [...others, { operationId, type, versionId, running: true, progress: undefined, notice: undefined }] });
    return operationId;
  };
  let loading: Promise<void> | undefined;
  let again = false;

  return {
    versions: [],
    active: [],
    history: [],
    loaded: false,
    error: undefined,
    gated: [],
    notices: {},
    busy: [],
    switchBase: {},
    operations: [],
    compare: { running: false, labels: undefined, result: undefined, error: undefined },

    load: async () => {
      // Events can come in bursts (activate → changed): one call in flight, and one more after it if asked meanwhile.
      if (loading) {
        again = true;
        return loading;
      }
      loading = (async () => {
        do {
          again = false;
          try {
            const { versions, active, history } = await api.versions.list({});
            set({ versions, active, history, loaded: true, error: undefined });
          } catch (error) {
            set({ error: messageOf(error) });
          }
        } while (again);
      })();
      try {
        await loading;
      } finally {
        loading = undefined;
      }
    },

    activate: async (key, args) => {
      const { [key]: _asked, ...rest } = get().switchBase;
      set({ switchBase: rest });
      let refusal: SwitchBaseRequest | undefined;
      const done = await act(key, async () => {
        try {
          const { active } = await api.versions.activate(args);
          const kinds = args.kinds ?? [];
          const now = active.filter((a) => (kinds.length ? kinds.includes(a.kind) : true));
          const what = args.versionId === null ? 'The plain base' : `v${get().versions.find((v) => v.id === args.versionId)?.number ?? '?'}`;
          const served = [...new Set(now.filter((a) => (args.versionId === null ? a.version === null && a.modelId === args.modelId : a.version?.id === args.versionId)).map((a) => a.kind))];
          return `${what} now serves ${served.length ? served.join(', ') : (kinds.join(', ') || 'its kinds')}.`;
        } catch (error) {
          // The server asks for an explicit choice of base: the user answers it, not this code.
          if (error instanceof AppError && error.field === 'args.switchBase' && !args.switchBase) refusal = { args, message: error.message };
          throw error;
        }
      });
      if (refusal) {
        note(key, undefined);
        set({ switchBase: { ...get().switchBase, [key]: refusal } });
      }
      return done;
    },

    cancelSwitch: (key) => {
      const { [key]: _gone, ...rest } = get().switchBase;
      set({ switchBase: rest });
    },

    rollback: (kind, to) =>
      act(`kind:${kind}`, async () => {
        const { active } = await api.versions.rollback({ kind, ...(to === undefined ? {} : { to }) });
        const now = active.find((a) => a.kind === kind);
        return now ? `Rolled back: ${serving(now)} serves ${kind}.` : `Rolled back ${kind}.`;
      }),

    undo: (kind) =>
      act(`kind:${kind}`, async () => {
        const { active } = await api.versions.undo({ kind });
        const now = active.find((a) => a.kind === kind);
        return now ? `Undone: ${serving(now)} serves ${kind} again.` : `Undone: nothing is chosen for ${kind} now; the default serves it.`;
      }),

    remove: async (version) => {
      const key = `version:${version.id}`;
      const done = await act(key, async () => {
        await api.versions.delete({ versionId: version.id, confirm: true });
        return `Deleted v${version.number} of ${version.baseName} and its files.`;
      });
      // Its row is gone: the news goes to its base's table.
      if (done) {
        const notice = get().notices[key];
        note(key, undefined);
        note(`group:${version.baseSha256}`, notice);
      }
      return done;
    },

    exportVersion: async (version, merged, outPath) => {
      const operationId = startOperation('export', version.id);
      try {
        const written = await api.versions.export({ versionId: version.id, merged, outPath, operationId });
        const size = written.bytes >= 1e6 ? `${(written.bytes / 1e6).toFixed(1)} MB` : `${(written.bytes / 1e3).toFixed(1)} kB`;
        updateOperation(operationId, { running: false, notice: { tone: 'ok', text: `Wrote ${written.path} (${size}, SHA-256 ${written.sha256.slice(0, 12)}…).` } });
      } catch (error) {
        updateOperation(operationId, { running: false, notice: { tone: 'error', text: messageOf(error) } });
      }
    },

    publish: async (version, name, route) => {
      const operationId = startOperation('publish', version.id);
      try {
        const published = await api.versions.publish({ versionId: version.id, operationId, route, ...(name.trim() ? { name: name.trim() } : {}) });
        updateOperation(operationId, {
          running: false,
          notice: { tone: 'ok', text: `Published ${published.name} to Ollama at ${published.host} (${published.route === 'merged' ? 'merged GGUF' : 'adapter'}, ${published.digest.slice(0, 19)}…).` },
        });
      } catch (error) {
        updateOperation(operationId, { running: false, notice: { tone: 'error', text: messageOf(error) } });
      }
    },

    runCompare: async (args, labels) => {
      if (get().compare.running) return;
      set({ compare: { running: true, labels, result: undefined, error: undefined } });
      try {
        set({ compare: { running: false, labels, result: await api.versions.compare(args), error: undefined } });
      } catch (error) {
        set({ compare: { running: false, labels, result: undefined, error: messageOf(error) } });
      }
    },

    dismissGated: (versionId) => set({ gated: get().gated.filter((g) => g.versionId !== versionId) }),
    clearNotice: (key) => note(key, undefined),
  };
});

// Whoever changed the registry (this window, another, the learning loop, a job): the lists follow.
client.on('versions.changed', () => void useVersions.getState().load());

// The gate's verdict on a new version, to tell the user with its numbers.
client.on('versions.gated', (event) => {
  const { gated } = useVersions.getState();
  useVersions.setState({ gated: [event, ...gated.filter((g) => g.versionId !== event.versionId)] });
  void useVersions.getState().load();
});

client.on('versions.progress', (progress) => {
  const { operations } = useVersions.getState();
  if (!operations.some((o) => o.operationId === progress.operationId)) return;
  useVersions.setState({ operations: operations.map((o) => (o.operationId === progress.operationId ? { ...o, progress } : o)) });
});

/** The gate's verdict as the user reads it: the summary with its numbers, then what came of it. */
export function gatedText(event: GatedNotice, version: Version | undefined): string {
  const kinds = version && version.activeFor.length ? version.activeFor : (version?.kinds ?? []);
  if (event.activated) return `${event.gate.summary} It now serves ${kinds.length ? kinds.join(', ') : 'its kinds'}.`;
  if (event.jobType === 'adaptive') return `${event.gate.summary} It was rejected; what served before still does.`;
  return `${event.gate.summary} It is a candidate: activate it to use it.`;
}

/** The choice before the kind's latest change, which the default rollback goes back to: "v1" or "plain base". */
export function previousLabel(kind: GeneratedKind, history: readonly Activation[], current: ActiveChoice | undefined): string {
  const previous = lastChange(kind, history)?.previous;
  if (!previous || previous.modelId === null || !current) return 'plain base';
  if (previous.modelId === current.modelId && previous.versionId === (current.version?.id ?? null)) return 'plain base';
  return previous.version === null ? 'plain base' : `v${previous.version}`;
}

/** The kind's latest change that Undo would take back, if any. */
export function lastChange(kind: GeneratedKind, history: readonly Activation[]): Activation | undefined {
  return history.filter((a) => a.kind === kind && !a.undone).sort((a, b) => b.id - a.id)[0];
}
