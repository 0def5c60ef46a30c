import type { Notice } from '../stores/models';

/** A store notice as one line: an alert when it is an error, a status otherwise; nothing without a notice. */
export function NoticeLine({ notice, testId, small = false }: { notice: Notice | undefined; testId: string; small?: boolean }) {
  if (!notice) return null;
  const tone = notice.tone === 'error' ? 'error-text' : 'ok-text';
  return (
    <p className={small ? `${tone} small` : tone} role={notice.tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {notice.text}
    </p>
  );
}
