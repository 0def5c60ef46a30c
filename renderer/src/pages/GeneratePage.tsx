import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';
import type { FeedbackEvent } from '../../../shared/contract/feedback';
import type { GeneratedKind } from '../../../shared/contract/generation';
import { AdapterField, ModelPicker } from '../components/generate/ModelPicker';
import { RequirementsField } from '../components/generate/RequirementsField';
import { SamplingSettingsPanel } from '../components/generate/SamplingSettings';
import { EventLabel, KIND_LABELS, RewardBadge, Thumb, ValidationDetails } from '../components/feedback';
import { MermaidPreview } from '../components/MermaidPreview';
import { isSaveKey, modalOpen, SHORTCUTS, ShortcutHelp, useRatingKeys } from '../components/shortcuts';
import { modelChoiceOf, samplingProblem, takesAdapterFile, useGenerate } from '../stores/generate';
import type { GenerateError, SamplingField } from '../stores/generate';
import { useModels } from '../stores/models';
import { useNavigation } from '../stores/navigation';
import '../feedback.css';
import '../generate.css';

const KINDS: GeneratedKind[] = ['erd', 'flowchart', 'sequence', 'api-doc', 'code'];
const DIAGRAMS = new Set<GeneratedKind>(['erd', 'flowchart', 'sequence']);

/** Generate: kind, model, requirements and sampling; the output streams into an editor with a live diagram preview. */
export function GeneratePage() {
  const { kind, set, state, generate, stop, loadSettings, loadYield } = useGenerate();
  const { loadModels, refreshOllama } = useModels();
  useEffect(() => {
    void loadSettings();
    void loadYield();
    void loadModels();
    void refreshOllama();
  }, [loadSettings, loadYield, loadModels, refreshOllama]);

  const blocked = useBlockedReason();
  const running = state === 'running' || state === 'stopping';

  // Ctrl+Enter (⌘+Enter) generates from anywhere on the page; Esc stops.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (modalOpen()) return; // first-run setup over the page takes the keys
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (!blockedNow()) void useGenerate.getState().generate();
      } else if (event.key === 'Escape' && useGenerate.getState().state === 'running') {
        event.preventDefault();
        void useGenerate.getState().stop();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <section className="generate-page">
      <header className="page-header">
        <h1>Generate</h1>
        <ShortcutHelp
          items={[
            { keys: SHORTCUTS.generate.keys, what: 'generate' },
            { keys: SHORTCUTS.stop.keys, what: 'stop' },
            { keys: SHORTCUTS.up.keys, what: 'good' },
            { keys: SHORTCUTS.down.keys, what: 'bad' },
            { keys: SHORTCUTS.save.keys, what: 'save your edit (in the editor)' },
          ]}
        />
      </header>
      <GpuYieldNotice />
      <ErrorBanner />
      <form
        className="card generate-form"
        aria-label="Generate"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (!blocked) void generate();
        }}
      >
        <div className="generate-choices">
          <div className="kind-field">
            <label htmlFor="generate-kind">Kind</label>
            <select id="generate-kind" value={kind} onChange={(e) => set({ kind: e.target.value as GeneratedKind })} disabled={running}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABELS[k]}
                </option>
              ))}
            </select>
          </div>
          <ModelPicker disabled={running} />
          <AdapterField disabled={running} />
        </div>
        <RequirementsField disabled={running} />
        <SamplingSettingsPanel disabled={running} />
        <div className="generate-actions">
          {running ? (
            <button type="button" className="danger" onClick={() => void stop()} disabled={state === 'stopping'} title={`Stop (${SHORTCUTS.stop.keys})`} aria-keyshortcuts={SHORTCUTS.stop.aria}>
              {state === 'stopping' ? 'Stopping…' : 'Stop'}
            </button>
          ) : (
            <button type="submit" className="primary" disabled={blocked !== undefined} aria-describedby={blocked ? 'generate-blocked' : undefined} title={`Generate (${SHORTCUTS.generate.keys})`} aria-keyshortcuts={SHORTCUTS.generate.aria}>
              Generate
            </button>
          )}
          {!running && blocked && (
            <span id="generate-blocked" className="muted" data-testid="generate-hint">
              {blocked}
            </span>
          )}
          <RunStatus />
        </div>
      </form>
      <OutputArea />
      <ResultPanel />
    </section>
  );
}

/** Why Generate cannot run now, or undefined when it can. */
function blockedReason(state: ReturnType<typeof useGenerate.getState>): string | undefined {
  if (state.requirements.trim() === '') return 'Type or drop the requirements to generate.';
  if (!modelChoiceOf(state.modelKey, state.adapter, state.adapterPath)) return 'Pick a model first (install one on the Models page).';
  if (state.adapter === 'file' && takesAdapterFile(state.modelKey) && state.adapterPath.trim() === '') return 'Type the adapter file’s path, or choose Base model.';
  const fields = Object.keys(state.sampling) as SamplingField[];
  const bad = fields.map((f) => samplingProblem(f, state.sampling[f])).find(Boolean);
  if (bad) return `${bad} (Sampling settings)`;
  return undefined;
}
const useBlockedReason = () => useGenerate(blockedReason);
const blockedNow = () => blockedReason(useGenerate.getState());

function RunStatus() {
  const { state, phase, output } = useGenerate();
  if (state !== 'running' && state !== 'stopping') return null;
  return (
    <span className="run-status" role="status" data-testid="generate-status">
      <span className="spinner" aria-hidden="true" /> {phase ?? 'Starting…'}
      {output.length > 0 && <span className="muted"> · {output.length.toLocaleString()} characters so far</span>}
    </span>
  );
}

const FIELD_NAMES: Record<string, string> = {
  temperature: 'Temperature',
  topP: 'Top-p',
  maxTokens: 'Max tokens',
  seed: 'Seed',
  contextSize: 'Context size',
  threads: 'CPU threads',
};

/** What to do about a failed generation, from the field the app blamed. */
function adviceFor(error: GenerateError): string {
  const field = error.field ?? '';
  if (error.code === 'disconnected') return 'The app is not reachable: reload the page (in the browser, open the link `architect serve` printed) and try again.';
  if (field.endsWith('requirements')) return 'Type the requirements, or drop a .txt or .md file on the field, then generate again.';
  if (field.endsWith('adapterPath')) return 'Check the adapter path (a LoRA .gguf made for this base model), or choose “Base model”.';
  if (field.includes('.model')) return 'Pick another model, or install or re-import it on the Models page.';
  const samplingField = Object.keys(FIELD_NAMES).find((f) => field.endsWith(`.${f}`));
  if (samplingField) return `Fix ${FIELD_NAMES[samplingField]} under “Sampling settings”, then generate again.`;
  if (error.code === 'cancelled') return 'The generation was cancelled; press Generate to start again.';
  if (error.code === 'unavailable') return 'Fix what the message says (or pick another model), then generate again.';
  return 'Fix what the message says, then press Generate again.';
}

/** While a training job has the GPU and the local model gave it up: why, and that it comes back. */
function GpuYieldNotice() {
  const message = useGenerate((s) => s.gpuYield?.message ?? null);
  if (message === null) return null;
  return (
    <div className="banner notice gpu-yield" role="status" data-testid="gpu-yield">
      {message}
    </div>
  );
}

function ErrorBanner() {
  const { error, dismissError } = useGenerate();
  const go = useNavigation((s) => s.go);
  if (!error) return null;
  const field = error.field ?? '';
  return (
    <div className="banner error generate-error" role="alert" data-testid="generate-error">
      <p>
        <strong>Generation failed:</strong> {error.message}
      </p>
      <p>{adviceFor(error)}</p>
      <div className="inline">
        {field.includes('.model') && !field.endsWith('adapterPath') && <button onClick={() => go('models')}>Open the Models page</button>}
        <button onClick={dismissError}>Dismiss</button>
      </div>
    </div>
  );
}

/**
 * The editor the output streams into, with the diagram preview beside it for Mermaid kinds. The textarea is
 * uncontrolled: streamed text is appended with setRangeText so the caret and selection stay where the user
 * left them, and it is never re-mounted.
 */
function OutputArea() {
  const kind = useGenerate((s) => s.kind);
  const output = useGenerate((s) => s.output);
  const state = useGenerate((s) => s.state);
  const setOutput = useGenerate((s) => s.setOutput);
  const editor = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const sync = (text: string) => {
      const el = editor.current;
      if (!el || el.value === text) return;
      if (text.startsWith(el.value)) {
        // Follow the stream while the view is at the end; a user who scrolled up stays where they are.
        const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        el.setRangeText(text.slice(el.value.length), el.value.length, el.value.length, 'preserve');
        if (atEnd) el.scrollTop = el.scrollHeight;
      } else el.value = text;
    };
    sync(useGenerate.getState().output);
    return useGenerate.subscribe((s) => sync(s.output));
  }, []);

  const diagram = DIAGRAMS.has(kind);
  return (
    <article className={diagram ? 'card output-area with-preview' : 'card output-area'} aria-label="Output">
      <h2>Output</h2>
      <div className="output-grid">
        <div className="editor-pane">
          <textarea
            ref={editor}
            className="mono output-editor"
            aria-label="Generated output"
            aria-keyshortcuts={SHORTCUTS.save.aria}
            onKeyDown={(e) => {
              if (!isSaveKey(e)) return;
              e.preventDefault(); // not the browser's "Save page"
              if (correctionSavable(useGenerate.getState())) void useGenerate.getState().saveCorrection();
            }}
            data-testid="generate-output"
            defaultValue={output}
            onChange={(e) => setOutput(e.target.value)}
            spellCheck={false}
            placeholder={state === 'running' ? 'Waiting for the first words…' : 'The generated text streams in here. You can edit it, then save your edit as a correction.'}
          />
        </div>
        {diagram && <MermaidPreview text={output} />}
      </div>
    </article>
  );
}

type ValidationEvent = Extract<FeedbackEvent, { type: 'validation' }>;

const FINISH: Record<string, string> = {
  stop: 'the model finished',
  'max-tokens': 'reached the token limit',
  stopped: 'stopped by you',
};

function ResultPanel() {
  const { result, state } = useGenerate();
  if (!result || state === 'running' || state === 'stopping') return null;
  const { artifact, generation } = result;
  const validation = [...artifact.events].reverse().find((e): e is ValidationEvent => e.type === 'validation');
  return (
    <div className="generate-result" data-testid="generate-result">
      <article className="card" aria-label="Validation">
        <h2>Validation</h2>
        {validation ? (
          <ValidationDetails validation={validation} rewardTestId="generate-validation-reward" />
        ) : (
          <p className="muted" data-testid="validation-error">
            {result.validationError ? `Validation could not run: ${result.validationError}` : 'Not validated.'}
          </p>
        )}
        {result.unwrapped && <p className="muted">The model wrapped the diagram in a code fence; the stored artifact is the diagram without it.</p>}
      </article>
      <article className="card" aria-label="Generation">
        <h2>Generation</h2>
        <Stat label="Model" value={generation.provider === 'ollama' ? `Ollama: ${generation.modelName.replace(/^ollama:/, '')}` : generation.modelName} />
        <Stat label="Adapter" value={generation.adapter ? <span title={`${generation.adapter.path} (SHA-256 ${generation.adapter.sha256})`}>{generation.version ? `v${generation.version.number}` : generation.adapter.path}</span> : 'base'} testId="stat-adapter" />
        <Stat label="Tokens" value={`${generation.outputTokens.toLocaleString()} (prompt ${generation.promptTokens.toLocaleString()})`} testId="stat-tokens" />
        <Stat label="Speed" value={`${generation.tokensPerSecond.toFixed(1)} tokens/s`} testId="stat-speed" />
        <Stat
          label="Duration"
          value={`${(generation.durationMs / 1000).toFixed(1)} s${generation.firstTokenMs === null ? '' : ` (first token after ${Math.round(generation.firstTokenMs)} ms)`}`}
          testId="stat-duration"
        />
        <Stat label="Ended" value={FINISH[generation.finish] ?? generation.finish} testId="stat-finish" />
        <Stat
          label="Sampling"
          value={`temperature ${generation.sampling.temperature}, top-p ${generation.sampling.topP}, max ${generation.sampling.maxTokens}, seed ${generation.sampling.seed ?? '—'}`}
        />
      </article>
      <FeedbackCard />
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: ReactNode; testId?: string }) {
  return (
    <div className="row">
      <span className="label">{label}</span>
      <span className="value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}

/** Whether the editor holds an edit of the result that is not saved yet (what Ctrl+S saves). */
function correctionSavable(state: ReturnType<typeof useGenerate.getState>): boolean {
  const { result, output, savedCorrection, feedbackBusy } = state;
  return result !== undefined && feedbackBusy === undefined && output !== result.artifact.output && output.trim() !== '' && output !== savedCorrection;
}

function FeedbackCard() {
  const { result, output, feedbackBusy, lastFeedback, feedbackError, savedCorrection, rate, saveCorrection } = useGenerate();
  const openArtifact = useNavigation((s) => s.openArtifact);
  useRatingKeys((which) => void rate(which === 'up' ? 'explicit_positive' : 'explicit_negative'), result !== undefined && feedbackBusy === undefined);
  if (!result) return null;
  const artifact = result.artifact;
  const edited = output !== artifact.output && output.trim() !== '' && output !== savedCorrection;
  return (
    <article className="card" aria-label="Feedback">
      <h2>Feedback</h2>
      <div className="thumbs">
        <button type="button" aria-label="Thumbs up" title={`This is good (${SHORTCUTS.up.keys})`} aria-keyshortcuts={SHORTCUTS.up.aria} disabled={feedbackBusy !== undefined} onClick={() => void rate('explicit_positive')}>
          <Thumb /> Good
        </button>
        <button type="button" aria-label="Thumbs down" title={`Needs improvement (${SHORTCUTS.down.keys})`} aria-keyshortcuts={SHORTCUTS.down.aria} disabled={feedbackBusy !== undefined} onClick={() => void rate('explicit_negative')}>
          <Thumb down /> Bad
        </button>
      </div>
      <button type="button" disabled={feedbackBusy !== undefined || !edited} onClick={() => void saveCorrection()} title={edited ? `Save (${SHORTCUTS.save.keys} in the editor)` : 'Edit the output first'} aria-keyshortcuts={SHORTCUTS.save.aria}>
        {feedbackBusy === 'correct' ? 'Saving…' : 'Save my edit as a correction'}
      </button>
      {!edited && <p className="muted small">Edit the text in the editor to save it as a correction (smaller edits earn a higher reward).</p>}
      {lastFeedback && lastFeedback.event.artifactId === artifact.id && (
        <p role="status" data-testid="generate-last-reward">
          Recorded <EventLabel event={lastFeedback.event} />: reward <RewardBadge reward={lastFeedback.event.reward} />
          {lastFeedback.batches.map((b) => ` — training batch ${b.id} created (${b.size} examples), job ${b.jobStatus}`)}
        </p>
      )}
      {feedbackError && (
        <p className="error-text" role="alert">
          {feedbackError}
        </p>
      )}
      <p>
        <button type="button" className="link" onClick={() => openArtifact(artifact.id)}>
          Open artifact #{artifact.id} in History
        </button>
      </p>
    </article>
  );
}
