import { useEffect, useState } from 'react';
import { client } from '../api/client';
import { EventChip, KIND_LABELS, KindOptions, RewardBadge } from '../components/feedback';
import { useHistory } from '../stores/history';
import type { SortChoice } from '../stores/history';
import { useNavigation } from '../stores/navigation';
import { AddArtifactForm } from './AddArtifactForm';
import { ArtifactView } from './ArtifactView';
import '../feedback.css';

const SORTS: { value: SortChoice; label: string }[] = [
  { value: 'date desc', label: 'Newest first' },
  { value: 'date asc', label: 'Oldest first' },
  { value: 'reward desc', label: 'Highest reward' },
  { value: 'reward asc', label: 'Lowest reward' },
];

/** Artifacts with their feedback and rewards; an artifact opens in place. */
export function HistoryPage() {
  const artifactId = useNavigation((s) => s.artifactId);
  return artifactId === undefined ? <HistoryList /> : <ArtifactView id={artifactId} />;
}

function HistoryList() {
  const { kind, sort, status, items, total, error, setKind, setSort, load } = useHistory();
  const openArtifact = useNavigation((s) => s.openArtifact);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    void load();
    // Feedback recorded anywhere in the app (another tab, the CLI through this host) shows up here.
    return client.on('feedback.recorded', () => void load());
  }, [load]);

  return (
    <section>
      <header className="page-header">
        <h1>History</h1>
        <button onClick={() => setAdding(!adding)} aria-expanded={adding}>
          {adding ? 'Close' : 'Add artifact'}
        </button>
      </header>
      {adding && <AddArtifactForm onAdded={(id) => openArtifact(id)} />}
      <div className="toolbar">
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)} aria-label="Filter by kind">
            <option value="all">All kinds</option>
            <KindOptions />
          </select>
        </label>
        <label>
          Sort{' '}
          <select value={sort} onChange={(e) => setSort(e.target.value as SortChoice)} aria-label="Sort by">
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">{total === 1 ? '1 artifact' : `${total} artifacts`}</span>
      </div>
      {status === 'error' && (
        <div className="banner error" role="alert">
          Could not load the history: {error}
        </div>
      )}
      {status === 'ready' && items.length === 0 && (
        <p className="muted">No artifacts yet. Use “Add artifact” to paste one in, then rate or correct it.</p>
      )}
      {items.length > 0 && (
        <table className="history">
          <thead>
            <tr>
              <th>#</th>
              <th>Kind</th>
              <th>Prompt</th>
              <th>Feedback</th>
              <th>Reward</th>
              <th>Added</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id} data-testid={`history-row-${item.id}`}>
                <td>{item.id}</td>
                <td>{KIND_LABELS[item.kind]}</td>
                <td className="prompt">
                  <button className="link" onClick={() => openArtifact(item.id)}>
                    {item.prompt || '(no prompt)'}
                  </button>
                </td>
                <td>
                  <div className="events">
                    {item.events.map((event) => (
                      <EventChip key={event.id} event={event} />
                    ))}
                  </div>
                </td>
                <td>
                  <RewardBadge reward={item.reward} />
                  {item.eligible && (
                    <span className="tag" title="Reward at or above the threshold: trained on">
                      eligible
                    </span>
                  )}
                </td>
                <td className="muted">{new Date(item.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
