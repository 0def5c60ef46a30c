import type { DatasetSummary } from '../../../../shared/contract/datasets';
import type { InstalledModel } from '../../../../shared/contract/models';
import type { Job, JobStatus } from '../../../../shared/contract/training';
import { formatGB } from '../../stores/models';

/** A duration as "3.2 s", "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Memory in binary units, as the trainer and GPUs count it ("312 MiB", "11.4 GiB"). */
export function formatMemory(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(0)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(bytes < 100 * 1024 ** 2 ? 1 : 0)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export const formatLoss = (loss: number | null | undefined) => (loss === null || loss === undefined || !Number.isFinite(loss) ? '—' : loss.toFixed(4));
export const formatRate = (lr: number) => (Number.isFinite(lr) ? lr.toExponential(2) : '—');

/** True for a 4-bit base file (Q4_K_M, Q4_0, IQ4_XS…): training on it is QLoRA. */
export const isFourBit = (model: InstalledModel) => /(^|[^0-9])I?Q4/i.test(model.quant ?? model.fileType);

export function modelLabel(model: InstalledModel): string {
  return `${model.name} · ${model.quant ?? model.fileType} · ${formatGB(model.sizeBytes)}`;
}

export function datasetLabel(d: DatasetSummary): string {
  return `${d.name} — ${d.examples.toLocaleString()} examples (${d.train.toLocaleString()} train / ${d.validation.toLocaleString()} validation)`;
}

export const STATUS_LABELS: Record<JobStatus, string> = {
  queued: 'queued',
  running: 'running',
  paused: 'paused',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function StatusBadge({ status, testId }: { status: JobStatus; testId?: string }) {
  return (
    <span className={`job-status ${status}`} data-testid={testId}>
      {STATUS_LABELS[status]}
    </span>
  );
}

/** What a job trains on, in words: the dataset's name, or the feedback batch of an adaptive job. */
export function dataOf(job: Job, datasets: readonly DatasetSummary[]): string {
  if (job.datasetId !== null) return datasets.find((d) => d.id === job.datasetId)?.name ?? `dataset #${job.datasetId}`;
  if (job.batchId !== null) return `feedback batch #${job.batchId}`;
  return '—';
}

export function modelOf(job: Job, models: readonly InstalledModel[]): string {
  if (job.modelId === null) return job.type === 'adaptive' ? 'first trainable model' : '—';
  return models.find((m) => m.id === job.modelId)?.name ?? `model #${job.modelId}`;
}

/** Scrolls the page back to its top, where the job panel shows the job just started or picked. */
export function showJobPanel(): void {
  const panel = document.getElementById('job-panel');
  if (!panel || panel.getBoundingClientRect().top >= 0) return;
  (panel.closest('.training-page') ?? panel).scrollIntoView({ block: 'start', behavior: 'smooth' });
}
