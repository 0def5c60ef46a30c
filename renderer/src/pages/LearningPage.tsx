import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import type { LearningStatus, Stats } from '../../../shared/contract/learning';
import { formatReward } from '../../../shared/reward';
import { KIND_LABELS, RewardBadge, Thumb } from '../components/feedback';
import { JobProgressBar } from '../components/training/JobProgressBar';
import { formatDuration, formatLoss, StatusBadge } from '../components/training/format';
import { useLearning } from '../stores/learning';
import { useNavigation } from '../stores/navigation';
import { useTraining } from '../stores/training';
import '../feedback.css';
import '../training.css';
import { Card, Row } from '../components/layout';

// The thumbs are drawn (Thumb): a machine without an emoji font shows a box for the bare symbol.
const TYPE_LABELS = {
  explicit_positive: <><Thumb /> Positive</>,
  explicit_negative: <><Thumb down /> Negative</>,
  correction: '✎ Corrections',
  validation: '✓ Validations',
} as const;

/** The adaptive-learning loop: progress to the next batch, rewards, batches and jobs, pause/resume, settings. */
export function LearningPage() {
  const { status, stats, error, load } = useLearning();
  const loadJobs = useTraining((s) => s.loadJobs);
  useEffect(() => {
    void load();
    void loadJobs();
  }, [load, loadJobs]);
  return (
    <section>
      <header className="page-header">
        <h1>Learning</h1>
        {status && <PauseButton status={status} />}
      </header>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {!status && <p className="muted">Loading…</p>}
      {status && stats && (
        <div className="cards">
          <ProgressCard status={status} stats={stats} />
          <Card title="Feedback">
            <Row label="Total feedback" value={stats.totalFeedback} testId="stats-total-feedback" />
            <Row label="Average reward" value={stats.averageReward === null ? '—' : formatReward(stats.averageReward)} testId="stats-average-reward" />
            {Object.entries(TYPE_LABELS).map(([type, label]) => (
              <Row key={type} label={label} value={stats.byType[type as keyof typeof TYPE_LABELS]} testId={`stats-type-${type}`} />
            ))}
          </Card>
          <Card title="Artifacts by kind">
            {Object.entries(stats.byKind).map(([kind, counts]) => (
              <Row key={kind} label={KIND_LABELS[kind as keyof typeof KIND_LABELS]} value={`${counts.artifacts} (${counts.feedback} events)`} testId={`stats-kind-${kind}`} />
            ))}
          </Card>
          <HistogramCard stats={stats} />
          <AdaptiveJobsCard />
          <SettingsCard status={status} />
          <BatchesCard status={status} />
        </div>
      )}
    </section>
  );
}

function PauseButton({ status }: { status: LearningStatus }) {
  const { busy, pause, resume } = useLearning();
  return (
    <button onClick={() => void (status.paused ? resume() : pause())} disabled={busy}>
      {status.paused ? 'Resume learning' : 'Pause learning'}
    </button>
  );
}

function ProgressCard({ status, stats }: { status: LearningStatus; stats: Stats }) {
  const { batchSize, autoTrigger } = status.settings;
  const shown = Math.min(status.pending, batchSize);
  const state = status.paused ? 'Paused: no batch is created until you resume.' : autoTrigger ? null : 'Auto-trigger is off: batches are not created automatically.';
  return (
    <Card title="Next training batch">
      <Row label="Eligible examples" value={`${status.pending} of ${batchSize}`} testId="learning-pending" />
      <div className="meter" role="progressbar" aria-label="Progress to the next batch" aria-valuemin={0} aria-valuemax={batchSize} aria-valuenow={shown}>
        <div style={{ width: `${(shown / batchSize) * 100}%` }} />
      </div>
      <Row label="Until the next batch" value={status.untilNextBatch} testId="learning-until-next" />
      <Row label="Batches so far" value={status.batches} testId="learning-batches" />
      <Row label="Queued jobs" value={status.jobs.queued} testId="learning-queued-jobs" />
      <Row label="Average reward" value={stats.averageReward === null ? '—' : formatReward(stats.averageReward)} />
      <Row label="Last batch" value={status.lastBatchAt ? new Date(status.lastBatchAt).toLocaleString() : '—'} />
      <p className={status.paused ? 'paused-note' : 'muted'} data-testid="learning-state">
        {state ?? `Active: a batch starts after ${batchSize} examples with reward ≥ ${status.settings.minRewardThreshold}.`}
      </p>
    </Card>
  );
}

function HistogramCard({ stats }: { stats: Stats }) {
  const widest = Math.max(1, ...stats.histogram.map((b) => b.count));
  return (
    <Card title="Reward histogram">
      <div className="histogram" aria-label="Reward histogram">
        {stats.histogram.map((bucket) => (
          <div key={bucket.from} className="bar-row" title={`${formatReward(bucket.from)} … ${formatReward(bucket.to)}: ${bucket.count}`}>
            <span className="bar-label">{formatReward(bucket.from)}</span>
            <span className={`bar ${bucket.from < 0 ? 'negative' : 'positive'}`} style={{ width: `${(bucket.count / widest) * 100}%` }} />
            <span className="bar-count">{bucket.count}</span>
          </div>
        ))}
      </div>
    </Card>
  );
}

function SettingsCard({ status }: { status: LearningStatus }) {
  const { busy, updateSettings } = useLearning();
  const [batchSize, setBatchSize] = useState(String(status.settings.batchSize));
  const [threshold, setThreshold] = useState(String(status.settings.minRewardThreshold));
  const [autoTrigger, setAutoTrigger] = useState(status.settings.autoTrigger);
  useEffect(() => {
    setBatchSize(String(status.settings.batchSize));
    setThreshold(String(status.settings.minRewardThreshold));
    setAutoTrigger(status.settings.autoTrigger);
  }, [status.settings.batchSize, status.settings.minRewardThreshold, status.settings.autoTrigger]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void updateSettings({ batchSize: Number(batchSize), minRewardThreshold: Number(threshold), autoTrigger });
  };
  return (
    <Card title="Settings">
      <form className="settings" onSubmit={submit} aria-label="Learning settings">
        <label>
          Batch size
          <input type="number" min={1} max={10000} step={1} value={batchSize} onChange={(e) => setBatchSize(e.target.value)} name="batchSize" />
        </label>
        <label>
          Minimum reward
          <input type="number" min={-1} max={1} step={0.05} value={threshold} onChange={(e) => setThreshold(e.target.value)} name="minRewardThreshold" />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={autoTrigger} onChange={(e) => setAutoTrigger(e.target.checked)} name="autoTrigger" /> Create batches automatically
        </label>
        <button type="submit" disabled={busy}>
          Save settings
        </button>
      </form>
    </Card>
  );
}

/** The adaptive jobs the batches queued, with their live state: served by the training supervisor, never a queue that nothing serves. */
function AdaptiveJobsCard() {
  const jobs = useTraining((s) => s.jobs);
  const loaded = useTraining((s) => s.loaded);
  const go = useNavigation((s) => s.go);
  const adaptive = jobs.filter((j) => j.type === 'adaptive').slice(0, 10);
  return (
    <Card title="Adaptive training jobs">
      {!loaded && <p className="muted">Loading…</p>}
      {loaded && adaptive.length === 0 && <p className="muted">No adaptive job yet: one is queued with each batch, and trains as soon as the trainer is free.</p>}
      {adaptive.length > 0 && (
        <ul className="adaptive-jobs" aria-label="Adaptive training jobs">
          {adaptive.map((job) => {
            const p = job.progress;
            return (
              <li key={job.id} className="adaptive-job" data-testid={`adaptive-job-${job.id}`}>
                <div className="adaptive-job-head">
                  <span>
                    Job #{job.id}
                    {job.batchId !== null && <span className="muted"> · batch #{job.batchId}</span>}
                  </span>
                  <StatusBadge status={job.status} testId="adaptive-job-status" />
                </div>
                {job.status === 'running' && (
                  <>
                    <JobProgressBar job={job} label={`Job ${job.id} progress`} />
                    <p className="muted small" data-testid="adaptive-job-progress">
                      {p ? `step ${p.step} of ${p.totalSteps} · train loss ${formatLoss(p.trainLoss)} · ETA ${formatDuration(p.etaMs)}` : 'starting…'}
                    </p>
                  </>
                )}
                {job.status === 'succeeded' && job.version && (
                  <p className="small" data-testid="adaptive-job-version">
                    Wrote <strong title={job.version.dir}>v{job.version.number}</strong>
                    {p ? <span className="muted"> · train loss {formatLoss(p.trainLoss)}</span> : null}
                  </p>
                )}
                {job.status !== 'running' && job.status !== 'succeeded' && job.message && (
                  <p className={job.status === 'failed' ? 'small error-text' : 'small muted'} data-testid="adaptive-job-message">
                    {job.message}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <p className="small">
        <button type="button" className="link" onClick={() => go('training')}>
          All jobs on the Training page
        </button>
      </p>
    </Card>
  );
}

function BatchesCard({ status }: { status: LearningStatus }) {
  // The batch's job as it is now (the status pushes it as of the batch's last change).
  const jobs = useTraining((s) => s.jobs);
  return (
    <Card title="Recent batches">
      {status.recentBatches.length === 0 ? (
        <p className="muted">No batch yet.</p>
      ) : (
        <table className="batches">
          <thead>
            <tr>
              <th>Batch</th>
              <th>Examples</th>
              <th>Avg reward</th>
              <th>Job</th>
            </tr>
          </thead>
          <tbody>
            {status.recentBatches.map((b) => (
              <tr key={b.id} data-testid={`batch-${b.id}`}>
                <td title={new Date(b.createdAt).toLocaleString()}>#{b.id}</td>
                <td>{b.size}</td>
                <td>
                  <RewardBadge reward={b.averageReward} />
                </td>
                <td>
                  #{b.jobId} {jobs.find((j) => j.id === b.jobId)?.status ?? b.jobStatus}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
