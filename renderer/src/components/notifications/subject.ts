import type { NotificationSubject } from '../../../../shared/contract/app';
import { useNavigation } from '../../stores/navigation';
import { useTraining } from '../../stores/training';

/** What a notification's link says: "Open job 4", "Show v3"; null for a subject with nothing to show. */
export function subjectLabel(subject: NotificationSubject): string | null {
  switch (subject.kind) {
    case 'job':
      return subject.id === null ? 'Open the Training page' : `Open job ${subject.id}`;
    case 'version':
      return 'Show the versions';
    case 'download':
      return 'Show on the Models page';
    case 'app':
      return 'Open Settings';
  }
}

/** Waits (up to 3 s) for `selector` to be drawn, then scrolls it into view and marks it for a moment. */
function reveal(selector: string, fallback?: string): void {
  const started = performance.now();
  const look = () => {
    const element = document.querySelector<HTMLElement>(selector) ?? (performance.now() - started > 1500 && fallback ? document.querySelector<HTMLElement>(fallback) : null);
    if (element) {
      element.scrollIntoView({ block: 'center', behavior: 'smooth' });
      element.classList.add('revealed');
      setTimeout(() => element.classList.remove('revealed'), 2000);
      return;
    }
    if (performance.now() - started < 3000) setTimeout(look, 100);
  };
  look();
}

/** Opens what the notification is about: the job on the Training page, the version or download on the Models page. */
export function openSubject(subject: NotificationSubject): void {
  const { go } = useNavigation.getState();
  switch (subject.kind) {
    case 'job':
      go('training');
      if (subject.id !== null) void useTraining.getState().select(subject.id, true);
      return;
    case 'version':
      go('models');
      reveal(subject.id === null ? '[aria-label="Versions"]' : `[data-testid="version-row-${subject.id}"]`, '[aria-label="Versions"]');
      return;
    case 'download':
      go('models');
      reveal(subject.id === null ? '[aria-label="Downloads"]' : `[data-testid="download-${subject.id}"]`, '[aria-label="Installed models"]');
      return;
    case 'app':
      go('settings');
      return;
  }
}
