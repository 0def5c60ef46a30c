import { useEffect } from 'react';
import { formatBytes } from '../../../shared/format';
import type { HardwareInfo } from '../../../shared/contract/system';
import { useHardware } from '../stores/hardware';
import { Card, Row } from '../components/layout';

export function SystemPage() {
  const { status, info, error, load } = useHardware();
  useEffect(() => {
    if (status === 'idle') void load();
  }, [status, load]);

  return (
    <section>
      <header className="page-header">
        <h1>System</h1>
        <button onClick={() => void load()} disabled={status === 'loading'}>
          {status === 'loading' ? 'Probing…' : 'Refresh'}
        </button>
      </header>
      {status === 'error' && (
        <div className="banner error" role="alert">
          Could not read this machine's hardware: {error}
        </div>
      )}
      {!info && status === 'loading' && <p className="muted">Probing this machine…</p>}
      {info && <HardwareView info={info} />}
    </section>
  );
}

function HardwareView({ info }: { info: HardwareInfo }) {
  const { cpu, memory, disk, compute } = info;
  return (
    <div className="cards">
      <Card title="CPU">
        <Row label="Model" value={cpu.model} />
        <Row label="Cores" value={`${cpu.physicalCores} physical, ${cpu.logicalCores} logical`} testId="cpu-cores" />
      </Card>
      <Card title="Memory">
        <Row label="Total" value={formatBytes(memory.totalBytes)} testId="memory-total" />
        <Row label="Free" value={formatBytes(memory.freeBytes)} />
        <Meter used={memory.totalBytes - memory.freeBytes} total={memory.totalBytes} />
      </Card>
      <Card title="Disk (data folder)">
        <Row label="Free" value={`${formatBytes(disk.freeBytes)} of ${formatBytes(disk.totalBytes)}`} />
        <Row label="Folder" value={disk.path} mono />
      </Card>
      <Card title="Compute backend">
        {compute.backend ? (
          <>
            <Row label="Backend" value={compute.backend.toUpperCase()} testId="compute-backend" />
            {compute.deviceNames.length > 0 && <Row label="Devices" value={compute.deviceNames.join(', ')} />}
            {compute.vram && (
              <>
                <Row label="VRAM free" value={`${formatBytes(compute.vram.freeBytes)} of ${formatBytes(compute.vram.totalBytes)}`} />
                <Meter used={compute.vram.usedBytes} total={compute.vram.totalBytes} />
              </>
            )}
            {compute.warning && <p className="error-text" data-testid="compute-warning">{compute.warning}</p>}
            {compute.backend === 'cpu' && !compute.warning && (
              <p className="muted">No supported GPU was found: training runs on the CPU, 10–20× slower.</p>
            )}
          </>
        ) : (
          <p className="error-text">{compute.error}</p>
        )}
      </Card>
      <Card title="GPUs">
        {info.gpus.length === 0 && <p className="muted">None detected.</p>}
        {info.gpus.map((gpu, i) => (
          <div key={i} className="gpu">
            <Row label="Model" value={`${gpu.vendor} ${gpu.model}`} />
            <Row label="VRAM" value={gpu.vramTotalBytes == null ? 'unknown' : formatBytes(gpu.vramTotalBytes)} />
            {gpu.driver && <Row label="Driver" value={gpu.driver} />}
          </div>
        ))}
      </Card>
      <Card title="Operating system">
        <Row label="Platform" value={`${info.os.platform} ${info.os.release} (${info.os.arch})`} />
        <Row label="Probed" value={new Date(info.probedAt).toLocaleString()} />
      </Card>
    </div>
  );
}

function Meter({ used, total }: { used: number; total: number }) {
  const percent = total > 0 ? Math.min(100, Math.max(0, (used / total) * 100)) : 0;
  return (
    <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(percent)}>
      <div style={{ width: `${percent}%` }} />
    </div>
  );
}
