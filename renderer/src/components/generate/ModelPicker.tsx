import { useEffect } from 'react';
import type { InstalledModel, OllamaModel } from '../../../../shared/contract/models';
import type { Version } from '../../../../shared/contract/versions';
import { KIND_LABELS } from '../feedback';
import { choiceText, servingOf } from '../versions/format';
import { takesAdapterFile, useGenerate } from '../../stores/generate';
import { FIT_LABELS, formatGB, useModels } from '../../stores/models';
import { useNavigation } from '../../stores/navigation';
import { useVersions } from '../../stores/versions';

const NONE: OllamaModel[] = [];

function optionLabel(model: InstalledModel): string {
  const parts = [model.name, model.quant ?? model.fileType, formatGB(model.sizeBytes)];
  if (!model.trainable) parts.push('generation only');
  const label = parts.join(' · ');
  return model.missing ? `${label} — file missing` : label;
}

function versionLabel(model: InstalledModel, version: Version): string {
  const serves = version.activeFor.length ? `, serves ${version.activeFor.join(', ')}` : '';
  const label = `${model.name} · v${version.number} (${version.status}${serves})`;
  return version.damaged ? `${label} — damaged` : label;
}


/**
 * First "What serves this kind" (the registry's choice for the chosen kind, named), then the installed models,
 * each with its versions, and, when an Ollama server answers, its models ("Ollama: name").
 */
export function ModelPicker({ disabled }: { disabled: boolean }) {
  const { models, ollama, loaded, errors } = useModels();
  const { modelKey, kind, set } = useGenerate();
  const { versions, active, loaded: versionsLoaded, error: versionsError, load: loadVersions } = useVersions();
  const go = useNavigation((s) => s.go);
  const ollamaModels = ollama?.reachable ? ollama.models : NONE;
  useEffect(() => {
    void loadVersions();
  }, [loadVersions]);

  const installed = models.filter((m) => !m.missing);
  // Keep a usable choice: what serves the kind when a local model is there, else the first Ollama model.
  useEffect(() => {
    const usable = (key: string) => {
      if (key === 'active') return installed.length > 0;
      const local = /^local:(\d+)(?::(\d+))?$/.exec(key);
      if (local) {
        if (!installed.some((m) => m.id === Number(local[1]))) return false;
        // A version's key waits for the list before it is judged.
        return !local[2] || !versionsLoaded || versions.some((v) => v.id === Number(local[2]) && v.modelId === Number(local[1]) && !v.damaged);
      }
      return key.startsWith('ollama:') && ollamaModels.some((m) => `ollama:${m.name}` === key);
    };
    if (usable(modelKey)) return;
    const key = installed.length > 0 ? 'active' : ollamaModels[0] ? `ollama:${ollamaModels[0].name}` : '';
    if (key !== modelKey) set({ modelKey: key });
  }, [installed, ollamaModels, versions, versionsLoaded, modelKey, set]);

  const serving = servingOf(kind, active, models);
  const localId = /^local:(\d+)/.exec(modelKey)?.[1];
  const selected = modelKey === 'active' ? models.find((m) => m.id === serving?.modelId) : localId ? models.find((m) => m.id === Number(localId)) : undefined;
  const missing = models.filter((m) => m.missing);
  const nothing = loaded.installed && models.length === 0 && ollamaModels.length === 0;
  const activeLabel = serving ? `What serves this kind (${KIND_LABELS[kind]}: ${choiceText(serving, models)})` : 'What serves this kind';

  return (
    <div className="model-picker">
      <label htmlFor="generate-model">Model</label>
      <select id="generate-model" value={modelKey} onChange={(e) => set({ modelKey: e.target.value })} disabled={disabled || nothing}>
        {modelKey === '' && <option value="">{nothing ? 'No model installed' : 'Choose a model…'}</option>}
        {models.length > 0 && (
          <option value="active" disabled={installed.length === 0}>
            {activeLabel}
          </option>
        )}
        {models.length > 0 && (
          <optgroup label="Installed">
            {models.map((m) => [
              <option key={m.id} value={`local:${m.id}`} disabled={m.missing}>
                {optionLabel(m)}
              </option>,
              ...versions
                .filter((v) => v.modelId === m.id)
                .sort((a, b) => b.number - a.number)
                .map((v) => (
                  <option key={`${m.id}:${v.id}`} value={`local:${m.id}:${v.id}`} disabled={m.missing || v.damaged !== null}>
                    {versionLabel(m, v)}
                  </option>
                )),
            ])}
          </optgroup>
        )}
        {ollamaModels.length > 0 && (
          <optgroup label={`Ollama at ${ollama!.host}`}>
            {ollamaModels.map((m) => (
              <option key={m.name} value={`ollama:${m.name}`}>
                Ollama: {m.name}
              </option>
            ))}
          </optgroup>
        )}
      </select>
      <div className="picker-notes">
        {modelKey === 'active' && serving && (
          <span className="muted small" data-testid="serving-note">
            {KIND_LABELS[kind]} is served by {choiceText(serving, models)}
            {serving.inherited ? ' (the default)' : ''}; the Models page changes that.
          </span>
        )}
        {modelKey === 'active' && versionsError && <span className="error-text small">Could not learn what serves {KIND_LABELS[kind]}: {versionsError}</span>}
        {selected && !selected.trainable && (
          <span className="badge warn" title={selected.trainReason ?? undefined} data-testid="generation-only">
            generation only
          </span>
        )}
        {selected && !selected.trainable && selected.trainReason && <span className="muted small">{selected.trainReason}</span>}
        {selected?.fit && (
          <span className="muted small" title={selected.fit.summary}>
            {FIT_LABELS[selected.fit.where]}
          </span>
        )}
        {errors.installed && <span className="error-text small">Could not list the models: {errors.installed}</span>}
        {nothing && (
          <span className="small">
            No model yet:{' '}
            <button type="button" className="link" onClick={() => go('models')}>
              download or import one on the Models page
            </button>
            .
          </span>
        )}
        {missing.map((m) => (
          <span key={m.id} className="muted small" data-testid="missing-model">
            {m.name} is unavailable: its file is gone from {m.path}. Import it again or delete it on the Models page.
          </span>
        ))}
      </div>
    </div>
  );
}

/** The plain base, or a LoRA adapter file typed in by path (plain installed models only). */
export function AdapterField({ disabled }: { disabled: boolean }) {
  const { modelKey, adapter, adapterPath, set } = useGenerate();
  // Only a plain installed model takes an adapter file: a version and "What serves this kind" bring their own.
  const fixed = !takesAdapterFile(modelKey);
  const why = modelKey.startsWith('ollama:')
    ? 'Ollama models run as the server has them.'
    : modelKey === 'active'
      ? 'What serves the kind brings its own adapter.'
      : modelKey.startsWith('local:')
        ? 'A version brings its own adapter.'
        : undefined;
  return (
    <fieldset className="adapter-field" disabled={disabled || fixed}>
      <legend>Adapter</legend>
      <label className="checkbox">
        <input type="radio" name="adapter" value="base" checked={adapter === 'base' || fixed} onChange={() => set({ adapter: 'base' })} /> Base model
      </label>
      <label className="checkbox">
        <input type="radio" name="adapter" value="file" checked={adapter === 'file' && !fixed} onChange={() => set({ adapter: 'file' })} /> Adapter file
      </label>
      {adapter === 'file' && !fixed && (
        <input
          className="mono"
          value={adapterPath}
          onChange={(e) => set({ adapterPath: e.target.value })}
          aria-label="Adapter file path"
          placeholder="/path/to/adapter.gguf"
          spellCheck={false}
        />
      )}
      {fixed && why && <span className="muted small">{why}</span>}
    </fieldset>
  );
}
