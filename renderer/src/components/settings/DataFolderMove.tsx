import type { FormEvent } from 'react';
import type { DataFolderMovePhase, DataFolderMoveProgress } from '../../../../shared/contract/app';
import { formatGB } from '../../../../shared/models/memory';
import { useDataFolderMove } from '../../stores/dataFolderMove';
import '../../dataFolderMove.css';

const PHASES: Record<DataFolderMovePhase, string> = {
  checking: 'Checking',
  stopping: 'Stopping the app (generation, training and downloads pause)',
  copying: 'Moving the files',
  verifying: 'Verifying the copy',
  switching: 'Switching to the new folder',
  starting: 'Starting the app in the new folder',
  done: 'Done',
  failed: 'Failed',
};

/** Decimal units, as the card's free space and the app's messages: "640 KB", "12.3 MB", "4.1 GB". */
function formatSize(bytes: number): string {
  if (bytes >= 1e9) return formatGB(bytes);
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.round(bytes / 1e3)} KB`;
}

/** One line for the move's progress: the phase, and the bytes while copying. */
function progressText(progress: DataFolderMoveProgress): string {
  const bytes = progress.totalBytes > 0 ? `: ${formatSize(progress.copiedBytes)} of ${formatSize(progress.totalBytes)}` : '';
  return `${PHASES[progress.phase]}${progress.phase === 'copying' ? bytes : ''}…`;
}

/**
 * Moves the data folder: a folder typed in (the page cannot open a folder picker in the browser), checked first,
 * then confirmed with the data's size and the target's free space; a progress bar while it moves; the refusal or
 * the failure in words. After the move the page reloads from the new folder.
 */
export function DataFolderMove() {
  const { target, checking, plan, moving, progress, error, moved, setTarget, check, confirm, cancel, dismissMoved } = useDataFolderMove();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (target.trim() !== '' && !checking && !moving) void check();
  };
  const share = progress && progress.totalBytes > 0 ? Math.min(1, progress.copiedBytes / progress.totalBytes) : 0;
  return (
    <div className="data-folder-move">
      {moved && (
        <p className="ok-text" role="status" data-testid="data-folder-moved">
          The data folder moved from <code>{moved.from}</code> to <code>{moved.to}</code>
          {moved.mode === 'renamed' ? ' (on the same disk).' : moved.mode === 'copied' ? ` (${formatSize(moved.bytes)} copied and verified; the old copy was removed).` : '.'}{' '}
          <button type="button" className="link" onClick={dismissMoved}>
            Dismiss
          </button>
        </p>
      )}
      <form className="settings-form" aria-label="Move the data folder" noValidate onSubmit={submit}>
        <label>
          Move to
          <input
            className="mono"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
            placeholder="/path/to/a/new/or/empty/folder"
            spellCheck={false}
            disabled={moving}
            aria-describedby="data-folder-move-help"
          />
          <span id="data-folder-move-help" className="muted small">
            The whole path of a new or empty folder. The app stops while its data moves, then starts again there.
          </span>
        </label>
        <div className="inline">
          <button type="submit" disabled={target.trim() === '' || checking || moving || plan !== undefined}>
            {checking ? 'Checking…' : 'Move…'}
          </button>
        </div>
      </form>
      {plan && !moving && (
        <div className="move-confirm" role="group" aria-label="Confirm the move" data-testid="data-folder-move-confirm">
          <p>
            Move {formatSize(plan.dataBytes)} of data from <code>{plan.from}</code> to <code>{plan.to}</code>?{' '}
            {plan.sameDisk
              ? `It is on the same disk (${formatSize(plan.freeBytes)} free): the files are renamed, nothing is copied.`
              : `Its disk has ${formatSize(plan.freeBytes)} free (the data needs ${formatSize(plan.neededBytes)} with a margin): the files are copied, verified, and only then removed here.`}
          </p>
          <div className="inline">
            <button type="button" className="primary" onClick={() => void confirm()}>
              Move the data
            </button>
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {moving && (
        <div className="move-progress">
          <div
            className="meter"
            role="progressbar"
            aria-label="Moving the data folder"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(share * 100)}
            aria-valuetext={progress ? progressText(progress) : 'starting'}
          >
            <div style={{ width: `${share * 100}%` }} />
          </div>
          <p className="muted small" role="status" data-testid="data-folder-move-progress">
            {progress ? progressText(progress) : 'Starting…'}
          </p>
        </div>
      )}
      {error && (
        <p className="error-text" role="alert" data-testid="data-folder-move-error">
          {error}
        </p>
      )}
    </div>
  );
}
