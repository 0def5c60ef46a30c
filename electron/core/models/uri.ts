// Download addresses: what the downloader is given (node-llama-cpp's `hf:owner/repo/file.gguf` URIs or
// http(s) URLs), the plain URL a HEAD request goes to, and the file name it is stored under.

const HF = /^hf:([^/\s:#]+)\/([^/\s:#]+)\/([^#\s]+?)(?:#([^#\s]+))?$/;
const SPLIT = /-\d{5}-of-\d{5}\.gguf$|\.gguf\.part\d+of\d+$/i;

/** Why `uri` cannot be downloaded, in words that say what to give instead; undefined when it can. */
export function checkDownloadUri(uri: string): string | undefined {
  const path = pathOf(uri);
  if (path === undefined) {
    if (/^hf:[^/]+\/[^/]+(:[^/]*)?$/.test(uri)) {
      return `"${uri}" names a repository, not a file: give the file, as hf:owner/repo/file.gguf`;
    }
    return `"${uri}" is not a download address: give an hf:owner/repo/file.gguf URI or an http(s):// URL (to add a file that is already on this machine, import it instead)`;
  }
  if (SPLIT.test(path)) return `"${uri}" is one part of a split GGUF; split models are not supported yet: choose a single-file quantization`;
  return undefined;
}

/** The URL a HEAD request and the downloader fetch: hf: URIs resolve on Hugging Face (or HF_ENDPOINT), as node-llama-cpp does. */
export function resolveDownloadUrl(uri: string, env: NodeJS.ProcessEnv = process.env): string {
  const hf = HF.exec(uri);
  if (!hf) return uri;
  const [, owner, repo, file, branch = 'main'] = hf as unknown as [string, string, string, string, string?];
  const endpoint = [env.MODEL_ENDPOINT, env.HF_ENDPOINT].find((e) => e && /^https?:\/\//.test(e)) ?? 'https://huggingface.co/';
  const base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
  const filePath = file.split('/').map(encodeURIComponent).join('/');
  return `${base}${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/resolve/${encodeURIComponent(branch)}/${filePath}?download=true`;
}

/** The file name in the models folder: the URI's last path segment, made safe, ending in .gguf. */
export function fileNameFor(uri: string): string {
  const path = pathOf(uri) ?? 'model';
  const last = path.split('/').filter(Boolean).pop() ?? 'model';
  let name = safeDecode(last).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  if (name === '') name = 'model';
  if (!name.toLowerCase().endsWith('.gguf')) name += '.gguf';
  return name.length > 200 ? `${name.slice(0, 195)}.gguf` : name;
}

/** The path part of a supported address, undefined for anything else. */
function pathOf(uri: string): string | undefined {
  const hf = HF.exec(uri);
  if (hf) return hf[3];
  if (!/^https?:\/\//i.test(uri)) return undefined;
  try {
    const url = new URL(uri);
    return url.hostname ? url.pathname : undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
