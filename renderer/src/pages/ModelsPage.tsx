import { useEffect } from 'react';
import { CatalogList } from '../components/models/CatalogList';
import { DownloadFromUrlForm } from '../components/models/DownloadFromUrlForm';
import { DownloadList } from '../components/models/DownloadList';
import { ImportLocalFileForm } from '../components/models/ImportLocalFileForm';
import { InstalledModelsTable } from '../components/models/InstalledModelsTable';
import { OllamaStatusCard } from '../components/models/OllamaStatusCard';
import { VersionsSection } from '../components/versions/VersionsSection';
import { useModels } from '../stores/models';
import '../models.css';

/** Models: what is installed, downloads with progress, import (a chosen or dropped file, or a path), the catalog with fits, and Ollama. */
export function ModelsPage() {
  const load = useModels((s) => s.load);
  useEffect(() => {
    void load();
  }, [load]);

  // A .gguf dropped elsewhere on the page goes to the window's drop (components/FileDrop), which brings it to ImportLocalFileForm.
  return (
    <section className="models-page">
      <header className="page-header">
        <h1>Models</h1>
        <button onClick={() => void load()}>Refresh</button>
      </header>
      <InstalledModelsTable />
      <VersionsSection />
      <div className="models-add">
        <DownloadFromUrlForm />
        <ImportLocalFileForm />
      </div>
      <DownloadList />
      <CatalogList />
      <OllamaStatusCard />
    </section>
  );
}
