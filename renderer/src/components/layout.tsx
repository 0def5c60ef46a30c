import type { ReactNode } from 'react';

/** A titled panel of the page grid. */
export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <article className="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </article>
  );
}

/** A label and its value on one line; `testId` marks the value for end-to-end tests. */
export function Row({ label, value, testId, mono }: { label: ReactNode; value: ReactNode; testId?: string; mono?: boolean }) {
  return (
    <div className="row">
      <span className="label">{label}</span>
      <span className={mono ? 'value mono' : 'value'} data-testid={testId}>
        {value}
      </span>
    </div>
  );
}
