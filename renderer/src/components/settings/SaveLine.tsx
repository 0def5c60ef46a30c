/** What a settings form's last save came to: "Saved." or why not, announced to screen readers. */
export type SaveResult = { tone: 'ok' | 'error'; text: string } | undefined;

export function SaveLine({ result, testId }: { result: SaveResult; testId?: string }) {
  if (!result) return null;
  return (
    <span className={result.tone === 'ok' ? 'ok-text' : 'error-text'} role={result.tone === 'ok' ? 'status' : 'alert'} data-testid={testId}>
      {result.text}
    </span>
  );
}
