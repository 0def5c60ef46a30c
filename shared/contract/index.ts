import { appService } from './app';
import { artifactsService } from './artifacts';
import { datasetsService } from './datasets';
import { feedbackService } from './feedback';
import { generationService } from './generation';
import { learningService } from './learning';
import { modelsService } from './models';
import { systemService } from './system';
import { trainingService } from './training';
import { validationService } from './validation';
import { versionsService } from './versions';

/** The one declaration every binding (IPC, WebSocket, renderer client, CLI) is derived from. */
export const contract = {
  system: systemService,
  generation: generationService,
  models: modelsService,
  artifacts: artifactsService,
  feedback: feedbackService,
  validation: validationService,
  learning: learningService,
  datasets: datasetsService,
  training: trainingService,
  versions: versionsService,
  app: appService,
};
export type Contract = typeof contract;
