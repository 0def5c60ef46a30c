import { useEffect } from 'react';
import { formatGB } from '../../../../shared/models/memory';
import { useHardware } from '../../stores/hardware';
import { useModels } from '../../stores/models';
import { summarizeMachine } from './machineSummary';

/** Step 1: what the probe found, in words, and what that means for generation and training. */
export function MachineStep() {
  const { status, info, error, load } = useHardware();
  const { catalog, loaded, errors, loadCatalog } = useModels();
  useEffect(() => {
    if (status === 'idle') void load();
    if (!loaded.catalog) void loadCatalog();
  }, [status, load, loaded.catalog, loadCatalog]);

  if (status === 'error') {
    return (
      <div className="banner error" role="alert">
        Could not probe this machine: {error}. You can go on: the Models page shows what fits once the probe works.{' '}
        <button type="button" onClick={() => void load()}>
          Probe again
        </button>
      </div>
    );
  }
  // Without the catalog the machine is still described; only the model suggestion is missing.
  if (!info || (!loaded.catalog && !errors.catalog)) {
    return (
      <p className="run-status" role="status">
        <span className="spinner" aria-hidden="true" /> {info ? 'Reading the model catalog…' : 'Probing this machine: GPU, memory, disk…'}
      </p>
    );
  }
  const summary = summarizeMachine(info, catalog);
  return (
    <div className="machine-step">
      {errors.catalog && (
        <p className="error-text" role="alert">
          The model catalog could not be read, so no model is suggested: {errors.catalog}
        </p>
      )}
      <p className="machine-headline" data-testid="machine-headline">
        {summary.headline}
      </p>
      <ul className="machine-details">
        {summary.details.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      <dl className="machine-facts">
        <dt>CPU</dt>
        <dd>
          {info.cpu.model} ({info.cpu.physicalCores} cores, {info.cpu.logicalCores} threads)
        </dd>
        <dt>Memory</dt>
        <dd>
          {formatGB(info.memory.totalBytes)} ({formatGB(info.memory.freeBytes)} free)
        </dd>
        <dt>GPU</dt>
        <dd>{info.gpus.length ? info.gpus.map((g) => `${g.vendor} ${g.model}${g.vramTotalBytes ? `, ${formatGB(g.vramTotalBytes)}` : ''}`).join('; ') : 'none found'}</dd>
        <dt>Backend</dt>
        <dd data-testid="machine-backend">{info.compute.backend ? info.compute.backend.toUpperCase() : `none (${info.compute.error ?? 'unknown reason'})`}</dd>
        <dt>Disk</dt>
        <dd>
          {formatGB(info.disk.freeBytes)} free of {formatGB(info.disk.totalBytes)}
        </dd>
      </dl>
    </div>
  );
}
