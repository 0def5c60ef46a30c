import { useEffect, useState } from 'react';
import { canLearnFilePaths } from '../api/files';
import { useDatasets } from '../stores/datasets';
import { MODEL_FILE, useModels } from '../stores/models';
import { useNavigation } from '../stores/navigation';

/** The files the Datasets page imports. */
export const DATASET_FILE = /\.(jsonl|json|ndjson)$/i;

const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') === true;

/**
 * Lets a dataset file be dropped anywhere on the window: shows a hint while one is dragged over, and
 * on drop opens the Datasets page and imports it. A file dropped elsewhere never replaces the page.
 * A .gguf model is never taken for a dataset: in the desktop app it opens the Models page and is imported
 * there by its path; a browser page, which cannot learn the path, says where to import it instead.
 */
export function FileDrop() {
  const [over, setOver] = useState(false);
  const [refused, setRefused] = useState<string | undefined>();
  useEffect(() => {
    let depth = 0;
    const enter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth++;
      setOver(true);
    };
    const overHandler = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // without this the browser opens the file in place of the app
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const leave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const drop = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setOver(false);
      const file = event.dataTransfer?.files[0];
      if (!file) return;
      if (MODEL_FILE.test(file.name)) {
        if (!canLearnFilePaths()) {
          setRefused(
            `${file.name} is a model, not a dataset. A browser page does not learn a dropped file’s path, so import it on the Models page by typing its path (dropping it works in the desktop app).`,
          );
          return;
        }
        setRefused(undefined);
        useNavigation.getState().go('models');
        void useModels.getState().importFile(file);
        return;
      }
      if (!DATASET_FILE.test(file.name)) {
        setRefused(`${file.name} is not a .jsonl or .json file; datasets are imported from those.`);
        return;
      }
      setRefused(undefined);
      useNavigation.getState().openDataset(undefined);
      void useDatasets.getState().importFile(file);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overHandler);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overHandler);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);
  return (
    <>
      {over && (
        <div className="drop-overlay" data-testid="drop-overlay">
          <p>Drop a .jsonl or .json file to import it as a dataset{canLearnFilePaths() && ', or a .gguf file to import it as a model'}</p>
        </div>
      )}
      {refused && (
        <div className="banner error drop-refused" role="alert">
          {refused} <button onClick={() => setRefused(undefined)}>Dismiss</button>
        </div>
      )}
    </>
  );
}
