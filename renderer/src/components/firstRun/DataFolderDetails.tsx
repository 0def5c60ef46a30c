import { useEffect } from 'react';
import { formatGB } from '../../../../shared/models/memory';
import { useApp } from '../../stores/app';

/**
 * The data folder: its path, the free space on its disk, what is wrong with it, and how to use another one.
 * Moving it is not built in, so nothing here offers to.
 */
export function DataFolderDetails() {
  const { dataFolder, dataFolderError, loadDataFolder } = useApp();
  useEffect(() => {
    void loadDataFolder();
  }, [loadDataFolder]);
  if (dataFolderError) {
    return (
      <p className="error-text" role="alert">
        Could not inspect the data folder: {dataFolderError}
      </p>
    );
  }
  if (!dataFolder) return <p className="muted">Inspecting the data folder…</p>;
  const usedShare = dataFolder.totalBytes > 0 ? (dataFolder.totalBytes - dataFolder.freeBytes) / dataFolder.totalBytes : 0;
  return (
    <div className="data-folder">
      <div className="row">
        <span className="label">Folder</span>
        <code className="value" data-testid="data-folder-path">
          {dataFolder.path}
        </code>
      </div>
      <div className="row">
        <span className="label">Free on its disk</span>
        <span className="value" data-testid="data-folder-free">
          {formatGB(dataFolder.freeBytes)} of {formatGB(dataFolder.totalBytes)}
        </span>
      </div>
      <div className="meter" role="meter" aria-label="Disk space used" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(usedShare * 100)}>
        <div style={{ width: `${usedShare * 100}%` }} />
      </div>
      <div className="row">
        <span className="label">Writable</span>
        <span className="value">{dataFolder.writable ? 'yes' : 'no'}</span>
      </div>
      {dataFolder.problem && (
        <p className="error-text" role="alert" data-testid="data-folder-problem">
          {dataFolder.problem}
        </p>
      )}
      {dataFolder.warning && (
        <p className="warn-text" role="status" data-testid="data-folder-warning">
          {dataFolder.warning}
        </p>
      )}
      <p className="muted small">
        The database, base models, trained versions and checkpoints live here. The app does not move it. To keep them elsewhere, start the headless host or the CLI with
        another folder: <code>architect serve --data-dir DIR</code> (every <code>architect</code> command takes <code>--data-dir</code>).
      </p>
    </div>
  );
}
