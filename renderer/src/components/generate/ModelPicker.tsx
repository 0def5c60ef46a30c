import { useEffect } from 'react';
import type { InstalledModel, OllamaModel } from '../../../../shared/contract/models';
import { useGenerate } from '../../stores/generate';
import { FIT_LABELS, formatGB, useModels } from '../../stores/models';
import { useNavigation } from '../../stores/navigation';

const NONE: OllamaModel[] = [];

function optionLabel(model: InstalledModel): string {
  const parts = [model.name, model.quant ?? model.fileType, formatGB(model.sizeBytes)];
  if (!model.trainable) parts.push('generation only');
  const label = parts.join(' · ');
  return model.missing ? `${label} — file missing` : label;
}

/** The installed models and, when an Ollama server answers, its models ("Ollama: name"). */
export function ModelPicker({ disabled }: { disabled: boolean }) {
  const { models, ollama, loaded, errors } = useModels();
  const { modelKey, set } = useGenerate();
  const go = useNavigation((s) => s.go);
  const ollamaModels = ollama?.reachable ? ollama.models : NONE;

  // Keep a usable choice: the first model whose file is there, else the first Ollama model.
  useEffect(() => {
    const usable = (key: string) =>
      (key.startsWith('local:') && models.some((m) => `local:${m.id}` === key && !m.missing)) ||
      (key.startsWith('ollama:') && ollamaModels.some((m) => `ollama:${m.name}` === key));
    if (usable(modelKey)) return;
    const first = models.find((m) => !m.missing);
    const key = first ? `local:${first.id}` : ollamaModels[0] ? `ollama:${ollamaModels[0].name}` : '';
    if (key !== modelKey) set({ modelKey: key });
  }, [models, ollamaModels, modelKey, set]);

  const selected = modelKey.startsWith('local:') ? models.find((m) => `local:${m.id}` === modelKey) : undefined;
  const missing = models.filter((m) => m.missing);
  const nothing = loaded.installed && models.length === 0 && ollamaModels.length === 0;

  return (
    <div className="model-picker">
      <label htmlFor="generate-model">Model</label>
      <select id="generate-model" value={modelKey} onChange={(e) => set({ modelKey: e.target.value })} disabled={disabled || nothing}>
        {modelKey === '' && <option value="">{nothing ? 'No model installed' : 'Choose a model…'}</option>}
        {models.length > 0 && (
          <optgroup label="Installed">
            {models.map((m) => (
              <option key={m.id} value={`local:${m.id}`} disabled={m.missing}>
                {optionLabel(m)}
              </option>
            ))}
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

/** The plain base, or a LoRA adapter file typed in by path (local models only). */
export function AdapterField({ disabled }: { disabled: boolean }) {
  const { modelKey, adapter, adapterPath, set } = useGenerate();
  const ollama = modelKey.startsWith('ollama:');
  return (
    <fieldset className="adapter-field" disabled={disabled || ollama}>
      <legend>Adapter</legend>
      <label className="checkbox">
        <input type="radio" name="adapter" value="base" checked={adapter === 'base' || ollama} onChange={() => set({ adapter: 'base' })} /> Base model
      </label>
      <label className="checkbox">
        <input type="radio" name="adapter" value="file" checked={adapter === 'file' && !ollama} onChange={() => set({ adapter: 'file' })} /> Adapter file
      </label>
      {adapter === 'file' && !ollama && (
        <input
          className="mono"
          value={adapterPath}
          onChange={(e) => set({ adapterPath: e.target.value })}
          aria-label="Adapter file path"
          placeholder="/path/to/adapter.gguf"
          spellCheck={false}
        />
      )}
      {ollama && <span className="muted small">Ollama models run as the server has them.</span>}
    </fieldset>
  );
}
