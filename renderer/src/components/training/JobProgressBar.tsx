import type { Job } from '../../../../shared/contract/training';

/** The progress bar of a job: step of total steps. */
export function JobProgressBar({ job, label }: { job: Job; label: string }) {
  const progress = job.progress;
  const total = progress?.totalSteps ?? 0;
  const step = progress?.step ?? 0;
  const share = total > 0 ? Math.min(1, step / total) : job.status === 'succeeded' ? 1 : 0;
  return (
    <div
      className={`meter job-meter ${job.status}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={step}
      aria-valuetext={total > 0 ? `step ${step} of ${total}` : 'not started'}
    >
      <div style={{ width: `${share * 100}%` }} />
    </div>
  );
}
