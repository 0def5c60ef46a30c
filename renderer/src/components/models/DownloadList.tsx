import { useModels } from '../../stores/models';
import { DownloadRow } from './DownloadRow';

/** The downloads the store knows, each with its progress and actions; hidden while there are none and no error. */
export function DownloadList() {
  const { downloads, errors } = useModels();
  if (downloads.length === 0 && !errors.downloads) return null;
  return (
    <article className="card" aria-label="Downloads">
      <h2>Downloads</h2>
      {errors.downloads && (
        <p className="error-text" role="alert">
          Could not list the downloads: {errors.downloads}
        </p>
      )}
      <ul className="downloads">
        {downloads.map((d) => (
          <DownloadRow key={d.id} download={d} />
        ))}
      </ul>
    </article>
  );
}
