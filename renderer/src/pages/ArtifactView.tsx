import { useEffect, useState } from 'react';
import type { ArtifactDetail } from '../../../shared/contract/artifacts';
import type { FeedbackEvent } from '../../../shared/contract/feedback';
import { EventChip, EventLabel, KIND_LABELS, RewardBadge, Thumb, ValidationDetails } from '../components/feedback';
import { isSaveKey, SHORTCUTS, ShortcutHelp, useRatingKeys } from '../components/shortcuts';
import { useArtifact } from '../stores/artifact';
import { useNavigation } from '../stores/navigation';

/** One artifact: its output, validation, 👍/👎, a correction editor, and every event with its reward. */
export function ArtifactView({ id }: { id: number }) {
  const { detail, status, error, load } = useArtifact();
  const openArtifact = useNavigation((s) => s.openArtifact);
  useEffect(() => {
    void load(id);
  }, [id, load]);

  const shown = detail?.id === id ? detail : undefined;
  return (
    <section>
      <header className="page-header">
        <h1>
          Artifact #{id}
          {shown && <span className="muted"> · {KIND_LABELS[shown.kind]}</span>}
        </h1>
        <div className="inline">
          <ShortcutHelp
            items={[
              { keys: SHORTCUTS.up.keys, what: 'good' },
              { keys: SHORTCUTS.down.keys, what: 'bad' },
              { keys: SHORTCUTS.save.keys, what: 'save the correction (in its editor)' },
            ]}
          />
          <button onClick={() => openArtifact(undefined)}>← History</button>
        </div>
      </header>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {!shown && status === 'loading' && <p className="muted">Loading…</p>}
      {shown && <ArtifactBody artifact={shown} />}
    </section>
  );
}

function ArtifactBody({ artifact }: { artifact: ArtifactDetail }) {
  const validation = [...artifact.events].reverse().find((e): e is Extract<FeedbackEvent, { type: 'validation' }> => e.type === 'validation');
  return (
    <div className="artifact">
      <article className="card">
        <h2>Prompt</h2>
        <p className="prompt-text">{artifact.prompt}</p>
        <p className="muted">
          Model: {artifact.model || '—'}
          {artifact.modelVersion && ` ${artifact.modelVersion}`} · added {new Date(artifact.createdAt).toLocaleString()}
        </p>
        <h2>Generated output</h2>
        <pre className="output" data-testid="artifact-output">
          {artifact.output}
        </pre>
      </article>
      <div className="side">
        <ValidationCard artifact={artifact} validation={validation} />
        <FeedbackCard artifact={artifact} />
      </div>
      <CorrectionEditor artifact={artifact} />
      <EventsCard artifact={artifact} />
    </div>
  );
}

function ValidationCard({ artifact, validation }: { artifact: ArtifactDetail; validation: Extract<FeedbackEvent, { type: 'validation' }> | undefined }) {
  const { busy, validate } = useArtifact();
  return (
    <article className="card" aria-label="Validation">
      <h2>Validation</h2>
      {validation ? (
        <ValidationDetails validation={validation} rewardTestId="validation-reward" />
      ) : (
        <p className="muted">{artifact.kind === 'other' ? 'Artifacts of kind “other” have no validator.' : 'Not validated yet.'}</p>
      )}
      {artifact.kind !== 'other' && (
        <button onClick={() => void validate()} disabled={busy !== undefined}>
          {busy === 'validate' ? 'Validating…' : validation ? 'Validate again' : 'Validate'}
        </button>
      )}
    </article>
  );
}

function FeedbackCard({ artifact }: { artifact: ArtifactDetail }) {
  const { busy, last, record } = useArtifact();
  const example = artifact.example;
  useRatingKeys((which) => void record({ artifactId: artifact.id, type: which === 'up' ? 'explicit_positive' : 'explicit_negative' }, which), busy === undefined);
  return (
    <article className="card" aria-label="Feedback">
      <h2>Feedback</h2>
      <div className="thumbs">
        <button aria-label="Thumbs up" title={`This is good (${SHORTCUTS.up.keys})`} aria-keyshortcuts={SHORTCUTS.up.aria} disabled={busy !== undefined} onClick={() => void record({ artifactId: artifact.id, type: 'explicit_positive' }, 'up')}>
          <Thumb /> Good
        </button>
        <button aria-label="Thumbs down" title={`Needs improvement (${SHORTCUTS.down.keys})`} aria-keyshortcuts={SHORTCUTS.down.aria} disabled={busy !== undefined} onClick={() => void record({ artifactId: artifact.id, type: 'explicit_negative' }, 'down')}>
          <Thumb down /> Bad
        </button>
      </div>
      {last && last.event.artifactId === artifact.id && (
        <p role="status" data-testid="last-reward">
          Recorded <EventLabel event={last.event} />: reward <RewardBadge reward={last.event.reward} />
          {last.batches.map((b) => ` — training batch ${b.id} created (${b.size} examples), job ${b.jobStatus}`)}
        </p>
      )}
      <h2>Training example</h2>
      {example ? (
        <p data-testid="training-example">
          The {example.target === 'correction' ? 'corrected' : 'generated'} text, reward <RewardBadge reward={example.reward} />:{' '}
          {example.batchId ? `in training batch ${example.batchId}` : example.eligible ? 'eligible, waiting for a batch' : 'below the reward threshold, not trained on'}
        </p>
      ) : (
        <p className="muted">None yet: rate, correct or validate the artifact.</p>
      )}
    </article>
  );
}

function CorrectionEditor({ artifact }: { artifact: ArtifactDetail }) {
  const current = artifact.correction?.text ?? artifact.output;
  const [text, setText] = useState(current);
  const { busy, record } = useArtifact();
  // A new artifact, or a correction saved elsewhere, resets the editor.
  useEffect(() => setText(current), [artifact.id, current]);
  const unchanged = text === current || text === artifact.output;
  const save = () => record({ artifactId: artifact.id, type: 'correction', text }, 'correct');
  return (
    <article className="card editor" aria-label="Correction">
      <h2>Correct the output</h2>
      <p className="muted">Edit the text into what it should have been. Smaller edits earn a higher reward (+0.2 … +0.6); the corrected text becomes the training target.</p>
      <textarea
        className="mono"
        rows={12}
        value={text}
        onChange={(e) => setText(e.target.value)}
        aria-label="Corrected text"
        aria-keyshortcuts={SHORTCUTS.save.aria}
        spellCheck={false}
        onKeyDown={(e) => {
          if (!isSaveKey(e)) return;
          e.preventDefault(); // not the browser's "Save page"
          if (busy === undefined && !unchanged) void save();
        }}
      />
      <div className="editor-actions">
        <button disabled={busy !== undefined || unchanged} onClick={() => void save()} title={`Save (${SHORTCUTS.save.keys} in the editor)`} aria-keyshortcuts={SHORTCUTS.save.aria}>
          {busy === 'correct' ? 'Saving…' : 'Save correction'}
        </button>
        <button disabled={text === current} onClick={() => setText(current)}>
          Discard edits
        </button>
      </div>
    </article>
  );
}

function EventsCard({ artifact }: { artifact: ArtifactDetail }) {
  return (
    <article className="card events-card" aria-label="Feedback events">
      <h2>Feedback events</h2>
      {artifact.events.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ol className="event-list">
          {artifact.events.map((event) => (
            <li key={event.id}>
              <EventChip event={event} /> <span className="muted">{new Date(event.createdAt).toLocaleString()}</span>
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}
