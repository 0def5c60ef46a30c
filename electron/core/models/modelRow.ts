import { basename } from 'node:path';
import type { NewModel } from '../../../db/models';
import type { ModelFileInfo } from './ggufInfo';

type HeaderColumns = 'name' | 'architecture' | 'fileType' | 'shape' | 'trainable' | 'trainReason';

/** A model row for a file whose header was read; `name` defaults to the header's general.name, then the file's name. */
export function modelRow(info: ModelFileInfo, row: Omit<NewModel, HeaderColumns> & { name?: string }): NewModel {
  return {
    ...row,
    name: row.name ?? info.name ?? basename(row.path).replace(/\.gguf$/i, ''),
    architecture: info.architecture,
    fileType: info.fileType,
    shape: info.shape,
    trainable: info.trainable,
    trainReason: info.trainReason,
  };
}
