import { useEffect, useState } from 'react';
import { useDatasets } from '../stores/datasets';
import { useNavigation } from '../stores/navigation';

/** The files the Datasets page imports. */
export const DATASET_FILE = /\.(jsonl|json|ndjson)$/i;

const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') === true;

/**
 * Lets a dataset file be dropped anywhere on the window: shows a hint while one is dragged over, and
 * on drop opens the Datasets page and imports it. A file dropped elsewhere never replaces the page.
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
          <p>Drop a .jsonl or .json file to import it as a dataset</p>
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
