import type { Database } from 'better-sqlite3';
import { ArtifactRepo } from './artifacts';
import { DatasetRepo } from './datasets';
import { FeedbackEventRepo } from './feedbackEvents';
import { GenerationRepo } from './generations';
import { JobRepo } from './jobs';
import { LearningRepo } from './learning';
import { ModelRepo } from './models';
import { SettingsRepo } from './settings';
import { StatsRepo } from './stats';
import { VersionRepo } from './versions';

/** Every repository over one connection, with the connection for transactions. */
export interface Store {
  readonly db: Database;
  readonly artifacts: ArtifactRepo;
  readonly datasets: DatasetRepo;
  readonly events: FeedbackEventRepo;
  readonly generations: GenerationRepo;
  readonly jobs: JobRepo;
  readonly learning: LearningRepo;
  readonly models: ModelRepo;
  readonly settings: SettingsRepo;
  readonly stats: StatsRepo;
  readonly versions: VersionRepo;
}

/** Prepares every repository's statements on an open, migrated connection. */
export function createStore(db: Database): Store {
  return {
    db,
    artifacts: new ArtifactRepo(db),
    datasets: new DatasetRepo(db),
    events: new FeedbackEventRepo(db),
    generations: new GenerationRepo(db),
    jobs: new JobRepo(db),
    learning: new LearningRepo(db),
    models: new ModelRepo(db),
    settings: new SettingsRepo(db),
    stats: new StatsRepo(db),
    versions: new VersionRepo(db),
  };
}
