import type { Download } from '../../../../shared/contract/models';
import { formatBytes } from '../../../../shared/format';
import { formatEta, useModels } from '../../stores/models';

const STATE_LABELS: Record<Download['state'], string> = {
  downloading: 'Downloading',
  paused: 'Paused',
  verifying: 'Verifying',
  done: 'Installed',
  failed: 'Failed',
  cancelled: 'Discarded',
};

/** One download: its state, a progress bar while the size is known or it is active, its figures and the actions its state allows. */
export function DownloadRow({ download: d }: { download: Download }) {
  const { acting, pause, resume, discard, dismissDownload, models } = useModels();
  const busy = acting.includes(d.id);
  const percent = d.totalBytes ? Math.min(100, (d.bytes / d.totalBytes) * 100) : undefined;
  const active = d.state === 'downloading' || d.state === 'verifying';
  const installed = d.modelId === null ? undefined : models.find((m) => m.id === d.modelId);
  return (
    <li className={`download ${d.state}`} data-testid={`download-${d.id}`}>
      <div className="download-head">
        <span className="download-name" title={d.uri}>
          {d.fileName}
        </span>
        <span className="download-state" data-testid="download-state">
          {STATE_LABELS[d.state]}
          {d.state === 'done' && installed && ` as ${installed.name}`}
        </span>
      </div>
      {(percent !== undefined ? d.state !== 'done' && d.state !== 'cancelled' : active) && (
        <div
          className="meter download-meter"
          role="progressbar"
          aria-label={`Download progress of ${d.fileName}`}
          aria-valuemin={0}
          aria-valuemax={d.totalBytes ?? undefined}
          aria-valuenow={d.bytes}
          aria-valuetext={percent === undefined ? `${formatBytes(d.bytes)} of an unknown size` : `${percent.toFixed(0)}%`}
        >
          <div style={{ width: percent === undefined ? '100%' : `${percent}%` }} className={percent === undefined ? 'indeterminate' : undefined} />
        </div>
      )}
      <div className="download-figures muted small">
        <span data-testid="download-bytes">
          {formatBytes(d.bytes)}
          {d.totalBytes !== null && ` of ${formatBytes(d.totalBytes)}`}
          {percent !== undefined && ` (${percent.toFixed(0)}%)`}
        </span>
        {d.state === 'downloading' && <span>{formatBytes(d.bytesPerSecond)}/s</span>}
        {d.state === 'downloading' && <span>ETA {formatEta(d.etaSeconds)}</span>}
      </div>
      {d.error && <p className="error-text small">{d.error}</p>}
      <div className="inline">
        {active && (
          <button onClick={() => void pause(d.id)} disabled={busy || d.state === 'verifying'} title="Stop for now; the partial file is kept to resume later">
            Pause
          </button>
        )}
        {(d.state === 'paused' || d.state === 'failed') && (
          <button onClick={() => void resume(d.id)} disabled={busy}>
            Resume
          </button>
        )}
        {d.state !== 'done' && d.state !== 'cancelled' && (
          <button className="danger" onClick={() => void discard(d.id)} disabled={busy} title="Stop and delete the partial file">
            Discard
          </button>
        )}
        {(d.state === 'done' || d.state === 'cancelled') && (
          <button className="link" onClick={() => dismissDownload(d.id)}>
            Dismiss
          </button>
        )}
      </div>
    </li>
  );
}
