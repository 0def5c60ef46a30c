import { useEffect } from 'react';
import { formatGB } from '../../../../shared/models/memory';
import { useApp } from '../../stores/app';
import { DataFolderMove } from '../settings/DataFolderMove';

/**
 * The data folder: its path, the free space on its disk, what is wrong with it; with `movable` (the Settings page),
 * the control that moves it elsewhere.
 */
export function DataFolderDetails({ movable = false }: { movable?: boolean }) {
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
        The database, base models, trained versions and checkpoints live here.{' '}
        {movable ? (
          <>
            Moving them keeps everything: on the same disk the files are renamed; to another disk they are copied, verified, and only then removed here.
          </>
        ) : (
          <>
            To keep them elsewhere, move the folder from Settings once setup is done, or start the headless host or the CLI with another folder:{' '}
            <code>architect serve --data-dir DIR</code> (every <code>architect</code> command takes <code>--data-dir</code>).
          </>
        )}
      </p>
      {movable && <DataFolderMove />}
    </div>
  );
}
