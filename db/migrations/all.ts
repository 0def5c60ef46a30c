import { feedback } from './001-feedback';
import { datasets } from './002-datasets';
import { models } from './003-models';
import { jobs } from './004-jobs';
import { versions } from './005-versions';
import type { Migration } from './types';

/** Every migration, in order. Append new ones; never edit or reorder a released one. */
export const MIGRATIONS: readonly Migration[] = [feedback, datasets, models, jobs, versions];
