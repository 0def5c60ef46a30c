import { useEffect } from 'react';
import { JobHistory } from '../components/training/JobHistory';
import { JobPanel } from '../components/training/JobPanel';
import { StartForm } from '../components/training/StartForm';
import { useTraining } from '../stores/training';
import '../feedback.css';
import '../generate.css';
import '../training.css';

/** Training: start a LoRA job on a model and a dataset, watch it (progress, figures, loss curve), pause, resume, cancel, look back. */
export function TrainingPage() {
  const load = useTraining((s) => s.load);
  const loadError = useTraining((s) => s.loadError);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section className="training-page">
      <header className="page-header">
        <h1>Training</h1>
        <span className="muted">One job trains at a time; the next waits in the queue.</span>
      </header>
      {loadError && (
        <div className="banner error" role="alert">
          {loadError}
        </div>
      )}
      <JobPanel />
      <StartForm />
      <JobHistory />
    </section>
  );
}
