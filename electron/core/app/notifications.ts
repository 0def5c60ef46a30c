import type { AppNotification, NotificationLevel, NotificationSubject } from '../../../shared/contract/app';
import type { Download } from '../../../shared/contract/models';
import type { Job } from '../../../shared/contract/training';
import type { GateResult } from '../../../shared/contract/versions';
import { formatGB } from '../../../shared/models/memory';
import type { Clock } from '../clock';

/** Shows a notification outside the page: Electron's native notifications in the desktop app. */
export interface Notifier {
  /** Whether it was shown natively; when not (the window has the focus, the system has none), the page toasts it. */
  show(notification: Omit<AppNotification, 'native'>): boolean;
}

/** A notification before it has an id and a time. */
export interface NotificationInput {
  readonly level: NotificationLevel;
  readonly title: string;
  readonly body: string;
  readonly subject: NotificationSubject;
}

/** The payload of `versions.gated`. */
export interface GatedEvent {
  readonly versionId: number;
  readonly number: number;
  readonly baseName: string;
  readonly jobType: 'manual' | 'adaptive';
  readonly activated: boolean;
  readonly gate: GateResult;
}

const jobName = (job: Job) => `${job.type === 'adaptive' ? 'Adaptive training' : 'Training'} job ${job.id}`;

/** A job that just finished or failed; null for every other change. */
export function jobNotice(job: Job): NotificationInput | null {
  const subject = { kind: 'job' as const, id: job.id };
  if (job.status === 'succeeded') {
    return { level: 'success', title: `${jobName(job)} finished`, body: job.message ?? (job.version ? `It wrote v${job.version.number}.` : 'It finished.'), subject };
  }
  if (job.status === 'failed') {
    return { level: 'error', title: `${jobName(job)} failed`, body: job.message ?? 'No reason was recorded: see its log on the Training page.', subject };
  }
  return null;
}

/** The gate's verdict on a new version, with its numbers. */
export function gateNotice(event: GatedEvent): NotificationInput {
  const name = `v${event.number} of ${event.baseName}`;
  const subject = { kind: 'version' as const, id: event.versionId };
  if (event.activated) return { level: 'success', title: `${name} is active`, body: `${event.gate.summary} It serves new generations of its kinds now.`, subject };
  if (event.jobType === 'adaptive') return { level: 'info', title: `${name} was rejected`, body: `${event.gate.summary} What served before still does.`, subject };
  return { level: 'info', title: `${name} is ready to compare`, body: `${event.gate.summary} It is a candidate: activate it on the Models page to use it.`, subject };
}

/** A download that just finished or failed; null for progress and every other state. */
export function downloadNotice(download: Download): NotificationInput | null {
  const subject = { kind: 'download' as const, id: download.id };
  if (download.state === 'done') {
    const size = download.totalBytes ? ` (${formatGB(download.totalBytes)})` : '';
    const model = download.modelId === null ? 'It is installed' : `It is installed as model ${download.modelId}`;
    return { level: 'success', title: `Downloaded ${download.fileName}`, body: `${model}${size}: choose it on the Models page.`, subject };
  }
  if (download.state === 'failed') {
    return { level: 'error', title: `The download of ${download.fileName} failed`, body: download.error ?? 'No reason was given: resume it to try again.', subject };
  }
  return null;
}

export interface NotificationCenterDeps {
  readonly clock: Clock;
  /** Pushes one as `app.notification`. */
  readonly emit: (notification: AppNotification) => void;
  readonly notifier?: Notifier;
  /** How many recent ones are kept for `app.notifications`. Default 100. */
  readonly keep?: number;
}

/**
 * Turns the core's events into notifications: each is given to the notifier (the desktop shows it natively when
 * its window is not in front), kept (the recent ones) and pushed as a contract event (the page lists it, and toasts
 * it unless it was shown natively). A job or download is told of once per state it reaches, however often its
 * state is reported.
 */
export class NotificationCenter {
  private readonly recentOnes: AppNotification[] = [];
  private readonly told = new Map<string, string>();
  private nextId = 1;

  constructor(private readonly deps: NotificationCenterDeps) {}

  push(input: NotificationInput): AppNotification {
    const base = { id: this.nextId++, ...input, at: this.deps.clock().toISOString() };
    let native = false;
    try {
      native = this.deps.notifier?.show(base) ?? false;
    } catch (error) {
      console.warn(`[app] the notification "${base.title}" could not be shown: ${(error as Error).message}`);
    }
    // One notice, shown once: natively, or else as the page's toast.
    const notification: AppNotification = { ...base, native };
    this.recentOnes.unshift(notification);
    this.recentOnes.length = Math.min(this.recentOnes.length, this.deps.keep ?? 100);
    this.deps.emit(notification);
    return notification;
  }

  /** Newest first. */
  recent(limit = 20): AppNotification[] {
    return this.recentOnes.slice(0, limit);
  }

  jobChanged(job: Job): void {
    this.once(`job:${job.id}`, job.status, jobNotice(job));
  }

  gated(event: GatedEvent): void {
    this.push(gateNotice(event));
  }

  download(download: Download): void {
    this.once(`download:${download.id}`, download.state, downloadNotice(download));
  }

  /** Pushes `input` unless `key` was already told of in `state`. */
  private once(key: string, state: string, input: NotificationInput | null): void {
    const before = this.told.get(key);
    this.told.set(key, state);
    if (input && before !== state) this.push(input);
  }
}
