import { useEffect, useRef, useState } from 'react';
import { useApp } from '../../stores/app';
import { Toasts } from '../notifications/Toasts';
import { DataFolderDetails } from './DataFolderDetails';
import { MachineStep } from './MachineStep';
import { ModelStep } from './ModelStep';
import type { ModelChoice } from './ModelStep';
import '../../firstRun.css';

const STEPS = [
  { id: 'machine', title: 'This machine', intro: 'What the app found, and what it means for generating and training.' },
  { id: 'model', title: 'A base model', intro: 'The model that generates your artifacts and that training adapts. One is enough to start; the Models page adds more later.' },
  { id: 'folder', title: 'The data folder', intro: 'Where your feedback, models and trained versions are kept.' },
  { id: 'done', title: 'Ready', intro: 'What was set up. Everything here can be changed later on the Models and Settings pages.' },
] as const;

/**
 * First-run setup, over the app: the machine in words, a base model (the catalog's suggestion, a local GGUF file
 * or an Ollama model) with its download's progress, and the data folder. Every step can be skipped, and the
 * whole setup too; finishing or skipping is stored (`app.setSettings({ firstRun })`) so it does not show again.
 */
export function FirstRunDialog() {
  const { view, saving, saveError, setSettings, closeSetup } = useApp();
  const [step, setStep] = useState(0);
  const [choices, setChoices] = useState<ModelChoice[]>([]);
  const choose = (choice: ModelChoice) => setChoices((all) => [...all.filter((c) => c.text !== choice.text), choice]);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [step]);

  const current = STEPS[step]!;
  const last = step === STEPS.length - 1;
  const again = view?.settings.firstRun.completed || view?.settings.firstRun.skipped;
  const end = async (how: 'completed' | 'skipped') => {
    if (await setSettings({ firstRun: how === 'completed' ? { completed: true } : { skipped: true } })) closeSetup();
  };
  const nextLabel = current.id === 'model' && choices.length === 0 ? 'Skip this step' : 'Next';

  return (
    <div className="setup-backdrop">
      <div className="first-run" role="dialog" aria-modal="true" aria-labelledby="first-run-title" aria-describedby="first-run-intro" data-testid="first-run">
        <header className="first-run-head">
          <div>
            <p className="muted small" id="first-run-title">
              {again ? 'First-run setup (again)' : 'Welcome to Architect.AI Studio: first-run setup'}
            </p>
            <h1 ref={heading} tabIndex={-1}>
              {current.title}
            </h1>
          </div>
          <ol className="setup-steps" aria-label="Setup steps">
            {STEPS.map((s, i) => (
              <li key={s.id} className={i === step ? 'current' : i < step ? 'done' : undefined} aria-current={i === step ? 'step' : undefined}>
                <span aria-hidden="true">{i + 1}</span> {s.title}
              </li>
            ))}
          </ol>
        </header>
        <p className="muted" id="first-run-intro">
          Step {step + 1} of {STEPS.length}: {current.intro}
        </p>
        <div className="first-run-body">
          {current.id === 'machine' && <MachineStep />}
          {current.id === 'model' && <ModelStep onChoice={choose} />}
          {current.id === 'folder' && <DataFolderDetails />}
          {current.id === 'done' && <DoneStep choices={choices} />}
        </div>
        <Toasts inline />
        {saveError?.key === 'firstRun' && (
          <p className="error-text" role="alert">
            Could not store that setup is done: {saveError.message}
          </p>
        )}
        <footer className="first-run-foot">
          <button type="button" onClick={() => void end('skipped')} disabled={saving === 'firstRun'} title="Close setup; run it again from Settings">
            Skip setup
          </button>
          <span className="spacer" />
          {step > 0 && (
            <button type="button" onClick={() => setStep(step - 1)}>
              Back
            </button>
          )}
          {last ? (
            <button type="button" className="primary" onClick={() => void end('completed')} disabled={saving === 'firstRun'}>
              {saving === 'firstRun' ? 'Saving…' : 'Finish'}
            </button>
          ) : (
            <button type="button" className="primary" onClick={() => setStep(step + 1)}>
              {nextLabel}
            </button>
          )}
        </footer>
      </div>
    </div>
  );
}

function DoneStep({ choices }: { choices: readonly ModelChoice[] }) {
  return (
    <ul className="setup-summary" data-testid="setup-summary">
      {choices.length === 0 && <li>No base model was chosen: add one on the Models page when you are ready.</li>}
      {choices.map((c) => (
        <li key={c.text}>Base model: {c.text}.</li>
      ))}
      {choices.some((c) => c.kind === 'download') && <li>A download still running goes on in the background; a notification says when it is installed.</li>}
      <li>Generate an artifact on the Generate page, then rate or correct it: once enough good examples wait (50 by default), the app trains a new version by itself and makes it active only if it does better.</li>
      <li>Settings holds the theme, the learning thresholds, the reward ranges and the Ollama host; it can run this setup again.</li>
    </ul>
  );
}
