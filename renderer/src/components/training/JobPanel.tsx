import type { JobProgress } from '../../../../shared/contract/training';
import { allowed, useTraining } from '../../stores/training';
import { Row } from '../layout';
import { LossChart } from '../LossChart';
import { JobProgressBar } from './JobProgressBar';
import { dataOf, formatDuration, formatLoss, formatMemory, formatRate, modelOf, StatusBadge } from './format';

function GpuGauge({ gpu }: { gpu: JobProgress['gpu'] }) {
  if (!gpu) {
    return (
      <p className="muted small" data-testid="gpu-memory">
        CPU: no GPU memory to show.
      </p>
    );
  }
  const share = gpu.totalBytes > 0 ? gpu.usedBytes / gpu.totalBytes : 0;
  return (
    <div className="gpu-gauge" data-testid="gpu-memory">
      <div className="row">
        <span className="label">GPU memory</span>
        <span className="value">
          {formatMemory(gpu.usedBytes)} of {formatMemory(gpu.totalBytes)} ({Math.round(share * 100)}%)
        </span>
      </div>
      <div className={share > 0.9 ? 'meter high' : 'meter'} role="meter" aria-label="GPU memory used" aria-valuemin={0} aria-valuemax={gpu.totalBytes} aria-valuenow={gpu.usedBytes} aria-valuetext={`${formatMemory(gpu.usedBytes)} of ${formatMemory(gpu.totalBytes)}`}>
        <div style={{ width: `${Math.min(100, share * 100)}%` }} />
      </div>
    </div>
  );
}

/** The job on show: its state, live figures, loss curve, the buttons its state allows, and a failure's log. */
export function JobPanel() {
  const { jobs, selectedId, detail, history, historyError, models, datasets, acting, actionError, act } = useTraining();
  const job = jobs.find((j) => j.id === selectedId) ?? (detail?.id === selectedId ? detail : undefined);
  if (!job) {
    return (
      <article className="card job-panel" aria-label="Job">
        <h2>Job</h2>
        <p className="muted">No training job yet. Start one with the form; its progress and loss curve show here.</p>
      </article>
    );
  }
  const p = job.progress;
  const can = allowed(job.status);
  const busy = acting?.id === job.id ? acting.action : undefined;
  const epochs = job.config?.epochs;
  const live = job.status === 'running';
  return (
    <article id="job-panel" className="card job-panel" aria-label="Job" data-testid="job-panel" data-job-id={job.id}>
      <header className="job-head">
        <div className="job-title">
          <h2>
            Job #{job.id} <span className="muted">· {job.type}</span>
          </h2>
          <StatusBadge status={job.status} testId="job-status" />
          <span className="job-what small">
            <span className="muted">Model</span> {modelOf(job, models)} <span className="muted">· Data</span> {dataOf(job, datasets)}
            {job.version && (
              <>
                {' '}
                <span className="muted">· Version</span>{' '}
                <strong data-testid="job-version" title={job.version.dir}>
                  v{job.version.number}
                </strong>
              </>
            )}
          </span>
        </div>
        <div className="job-actions">
          <button type="button" onClick={() => void act(job.id, 'pause')} disabled={!can.pause || acting !== undefined}>
            {busy === 'pause' ? 'Pausing…' : 'Pause'}
          </button>
          <button type="button" onClick={() => void act(job.id, 'resume')} disabled={!can.resume || acting !== undefined}>
            {busy === 'resume' ? 'Resuming…' : 'Resume'}
          </button>
          <button type="button" className="danger" onClick={() => void act(job.id, 'cancel')} disabled={!can.cancel || acting !== undefined}>
            {busy === 'cancel' ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
      </header>
      {job.message && (
        <p className={job.status === 'failed' ? 'job-message error-text' : 'job-message'} role={job.status === 'failed' ? 'alert' : undefined} data-testid="job-message">
          {job.message}
        </p>
      )}
      {actionError && (
        <p className="error-text" role="alert">
          {actionError}
        </p>
      )}
      <JobProgressBar job={job} label="Training progress" />
      <div className="job-body">
        <div className="job-side">
          <div className="job-figures">
            <Row label="Step" value={p ? `${p.step.toLocaleString()} / ${p.totalSteps.toLocaleString()}` : '—'} testId="job-step" />
            <Row label="Epoch" value={p ? `${p.epoch.toFixed(2)}${epochs ? ` of ${epochs}` : ''}` : '—'} testId="job-epoch" />
            <Row label="Elapsed" value={formatDuration(p?.elapsedMs)} testId="job-elapsed" />
            <Row label="ETA" value={live ? formatDuration(p?.etaMs) : '—'} testId="job-eta" />
            <Row label="Tokens/s" value={p ? p.tokensPerSecond.toFixed(0) : '—'} testId="job-tokens" />
            <Row label="Learning rate" value={p ? formatRate(p.learningRate) : '—'} testId="job-lr" />
            <Row label="Train loss" value={formatLoss(p?.trainLoss)} testId="job-train-loss" />
            <Row label="Validation loss" value={formatLoss(p?.validationLoss)} testId="job-validation-loss" />
            <Row label="Trainer memory" value={p ? formatMemory(p.memoryBytes) : '—'} testId="job-memory" />
          </div>
          {p ? <GpuGauge gpu={p.gpu} /> : <p className="muted small">{job.status === 'queued' ? 'Waits for the trainer; the figures come with its first step.' : 'No step was recorded.'}</p>}
        </div>
        <div className="job-chart">
          <LossChart history={history} totalSteps={p?.totalSteps} label={`Loss curve of job ${job.id}`} />
          {historyError && <p className="error-text small">Could not read the steps: {historyError}</p>}
        </div>
      </div>
      {job.logTail.length > 0 && (
        <details className="job-log">
          <summary>Trainer log ({job.logTail.length} lines)</summary>
          <pre className="output" data-testid="job-log">
            {job.logTail.join('\n')}
          </pre>
        </details>
      )}
    </article>
  );
}
