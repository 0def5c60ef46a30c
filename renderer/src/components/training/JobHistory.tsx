import { useTraining } from '../../stores/training';
import { dataOf, formatLoss, modelOf, showJobPanel, StatusBadge } from './format';

/** Every job, newest first; a click shows its curve. */
export function JobHistory() {
  const { jobs, loaded, selectedId, models, datasets, select: pick } = useTraining();
  const select = (id: number) => {
    showJobPanel();
    return pick(id);
  };
  return (
    <article className="card job-history" aria-label="Job history">
      <h2>Job history</h2>
      {!loaded && <p className="muted">Loading…</p>}
      {loaded && jobs.length === 0 && <p className="muted">No job yet.</p>}
      {jobs.length > 0 && (
        <div className="table-scroll">
          <table className="jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Model</th>
                <th scope="col">Data</th>
                <th scope="col">Steps</th>
                <th scope="col">Train loss</th>
                <th scope="col">Val. loss</th>
                <th scope="col">Version</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => {
                const p = job.progress;
                const selected = job.id === selectedId;
                return (
                  <tr key={job.id} className={selected ? 'selected' : undefined} aria-selected={selected} data-testid={`job-row-${job.id}`} onClick={() => void select(job.id)}>
                    <td>
                      <button type="button" className="link" aria-label={`Show job ${job.id}`} aria-pressed={selected} onClick={(e) => {
                        e.stopPropagation();
                        void select(job.id);
                      }}>
                        #{job.id}
                      </button>
                    </td>
                    <td>{job.type}</td>
                    <td>
                      <StatusBadge status={job.status} testId="job-row-status" />
                    </td>
                    <td className="clip">{modelOf(job, models)}</td>
                    <td className="clip">{dataOf(job, datasets)}</td>
                    <td className="num" data-testid="job-row-steps">
                      {p ? `${p.step.toLocaleString()} / ${p.totalSteps.toLocaleString()}` : '—'}
                    </td>
                    <td className="num">{formatLoss(p?.trainLoss)}</td>
                    <td className="num">{formatLoss(p?.validationLoss)}</td>
                    <td data-testid="job-row-version" title={job.version?.dir}>
                      {job.version ? `v${job.version.number}` : '—'}
                    </td>
                    <td className="nowrap" title={job.createdAt}>
                      {new Date(job.createdAt).toLocaleString()}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}
