import { AppError } from '../../../shared/errors';

const HEAD_TIMEOUT_MS = 15_000;

/** The size a HEAD request reports (null when the server does not say); a missing file or an unreachable host is refused. */
export async function headSize(url: string, field: string): Promise<number | null> {
  const host = new URL(url).host;
  let response: Response;
  try {
    const token = /huggingface\.co$|hf\.co$/.test(host) ? process.env.HF_TOKEN : undefined;
    response = await fetch(url, {
      method: 'HEAD',
      redirect: 'follow',
      headers: { 'accept-encoding': 'identity', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(HEAD_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === 'TimeoutError' ? `no answer in ${HEAD_TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new AppError('unavailable', `Cannot reach ${host} (${why}): check the network connection and try again.`, { field });
  }
  if (response.status === 404 || response.status === 410) {
    throw new AppError('not_found', `The server has no file at ${url} (HTTP ${response.status}): check the address.`, { field });
  }
  if (!response.ok) return null;
  if (response.headers.get('content-encoding')) return null;
  const length = Number(response.headers.get('content-length'));
  return Number.isSafeInteger(length) && length > 0 ? length : null;
}
