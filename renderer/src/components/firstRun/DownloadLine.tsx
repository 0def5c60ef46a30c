import type { Download } from '../../../../shared/contract/models';
import { formatEta, formatGB, useModels } from '../../stores/models';

const STATE_WORDS: Record<Download['state'], string> = {
  downloading: 'Downloading',
  paused: 'Paused',
  verifying: 'Checking the file (SHA-256)…',
  done: 'Installed',
  failed: 'Failed',
  cancelled: 'Discarded',
};

/** One download's progress with pause and resume, for first-run setup (the Models page lists them all). */
export function DownloadLine({ download }: { download: Download }) {
  const { acting, pause, resume } = useModels();
  const busy = acting.includes(download.id);
  const total = download.totalBytes;
  const percent = total ? Math.min(100, Math.floor((download.bytes / total) * 100)) : undefined;
  return (
    <div className={`download-line ${download.state}`} data-testid="setup-download">
      <div className="download-head">
        <span className="download-name">{download.fileName}</span>
        <span className="download-state" data-testid="setup-download-state">
          {STATE_WORDS[download.state]}
          {download.state === 'done' && download.modelId !== null && ` as model ${download.modelId}`}
        </span>
      </div>
      {(download.state === 'downloading' || download.state === 'paused' || download.state === 'verifying') && (
        <>
          <div
            className="meter download-meter"
            role="progressbar"
            aria-label={`Download progress of ${download.fileName}`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            aria-valuetext={percent === undefined ? `${formatGB(download.bytes)} so far` : `${percent}%`}
          >
            <div style={{ width: `${percent ?? 0}%` }} />
          </div>
          <p className="download-figures small">
            <span>
              {formatGB(download.bytes)}
              {total ? ` of ${formatGB(total)} (${percent}%)` : ''}
            </span>
            {download.state === 'downloading' && download.bytesPerSecond > 0 && <span>{formatGB(download.bytesPerSecond)}/s</span>}
            {download.state === 'downloading' && download.etaSeconds !== null && <span>about {formatEta(download.etaSeconds)} left</span>}
          </p>
        </>
      )}
      {download.error && (
        <p className="error-text" role="alert">
          {download.error}
        </p>
      )}
      <div className="inline">
        {download.state === 'downloading' && (
          <button type="button" onClick={() => void pause(download.id)} disabled={busy}>
            Pause
          </button>
        )}
        {(download.state === 'paused' || download.state === 'failed') && (
          <button type="button" onClick={() => void resume(download.id)} disabled={busy}>
            Resume
          </button>
        )}
        {(download.state === 'downloading' || download.state === 'verifying') && (
          <span className="muted small">It goes on if you continue or close this: a notification says when it is done.</span>
        )}
      </div>
    </div>
  );
}
