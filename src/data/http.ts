/**
 * The HTTP side of `adzone data fetch`: node's http/https only, one connection per request, redirects
 * followed (at most 5), and FetchError for what went wrong on the wire (retryable when another
 * attempt may do better: a broken connection, a 5xx, 408, 429).
 */
import http from 'node:http';
import https from 'node:https';
import { DataError } from './errors.ts';

/** A failed request or transfer: a DataError 'download'; `retryable` when another attempt (resuming the .part) may succeed. */
export class FetchError extends DataError {
  override name = 'FetchError';
  constructor(
    message: string,
    /** Worth another attempt (a broken connection, a 5xx), with the .part kept. */
    readonly retryable = false,
  ) {
    super('download', message);
  }
}

export const MAX_REDIRECTS = 5;

/** The URL of `file` under `base`. */
export function fileUrl(base: string, file: string): URL {
  const b = base.endsWith('/') ? base : `${base}/`;
  try {
    return new URL(file, b);
  } catch {
    throw new FetchError(`not a valid URL: ${b}${file} (check --base-url / ADZONE_FETCH_BASE)`);
  }
}

function get(url: URL, headers: Record<string, string>, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!mod) return Promise.reject(new FetchError(`cannot fetch ${url.href}: only http and https URLs are supported`));
  return new Promise((resolve, reject) => {
    // agent: false — one connection per request, closed after it (no keep-alive socket holds the process open).
    const req = mod.get(url, { headers, timeout: idleTimeoutMs, agent: false }, resolve);
    req.on('timeout', () => req.destroy(new Error(`no data for ${Math.round(idleTimeoutMs / 1000)} s`)));
    req.on('error', (e) => reject(new FetchError(`${url.href}: ${e.message}`, true)));
  });
}

/** GET with redirects followed (at most 5); the Range header goes along. */
export async function getFollowing(
  url: URL,
  headers: Record<string, string>,
  idleTimeoutMs: number,
): Promise<{ res: http.IncomingMessage; url: URL }> {
  let here = url;
  for (let hop = 0; ; hop++) {
    const res = await get(here, headers, idleTimeoutMs);
    const s = res.statusCode ?? 0;
    if (![301, 302, 303, 307, 308].includes(s)) return { res, url: here };
    res.resume();
    const loc = res.headers.location;
    if (!loc) throw new FetchError(`${here.href} answered ${s} (a redirect) without a Location header`);
    if (hop >= MAX_REDIRECTS)
      throw new FetchError(
        `${url.href}: more than ${MAX_REDIRECTS} redirects (the last to ${new URL(loc, here).href}); is the mirror set up right?`,
      );
    here = new URL(loc, here);
  }
}
