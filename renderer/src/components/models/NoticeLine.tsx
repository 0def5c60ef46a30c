import type { Notice } from '../../stores/models';

/** A store notice as one line: an alert when it is an error, a status otherwise; nothing without a notice. */
export function NoticeLine({ notice, testId }: { notice: Notice | undefined; testId: string }) {
  if (!notice) return null;
  return (
    <p className={notice.tone === 'error' ? 'error-text' : 'ok-text'} role={notice.tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {notice.text}
    </p>
  );
}
