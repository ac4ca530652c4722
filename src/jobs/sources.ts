import { createWriteStream, realpathSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../errors.js';

/** Where a job's matrix comes from, once the request's `source` (and `genes`) is checked. */
export type JobSource =
  | { kind: 'database' }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: URL }
  | { kind: 'synthetic'; genes: number };

export interface SourceRules {
  dataDir?: string;
  urlHosts: string[];
}

/** A request the caller can fix: the route answers 400 with this message. */
export class BadRequest extends UsageError {}

/**
 * `"database"`, a file name inside the data directory, or an https URL on the allow-list.
 * Everything else is refused before a job exists.
 */
export function resolveSource(source: string, rules: SourceRules): JobSource {
  if (source === 'database') return { kind: 'database' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return { kind: 'url', url: allowedUrl(source, rules.urlHosts) };
  return { kind: 'file', path: fileInside(source, rules.dataDir) };
}

function allowedUrl(source: string, hosts: string[]): URL {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new BadRequest(`source is not a valid URL: ${source}`);
  }
  if (url.protocol !== 'https:') throw new BadRequest(`source URL must use https, not ${url.protocol.replace(':', '')}`);
  if (!hosts.includes(url.hostname.toLowerCase())) {
    throw new BadRequest(`source URL host ${url.hostname} is not allowed (allowed: ${hosts.join(', ') || 'none'}; GENESIM_URL_HOSTS)`);
  }
  return url;
}

function fileInside(name: string, dataDir: string | undefined): string {
  if (dataDir === undefined) throw new BadRequest('source names a file, but no data directory is configured (GENESIM_DATA_DIR)');
  const outside = (root: string, p: string) => {
    const rel = path.relative(root, p);
    return rel === '' || rel.startsWith('..') || path.isAbsolute(rel);
  };
  const resolved = path.resolve(dataDir, name);
  if (path.isAbsolute(name) || outside(dataDir, resolved)) throw new BadRequest(`source ${JSON.stringify(name)} is outside the data directory`);
  let real: string;
  try {
    real = realpathSync(resolved);
  } catch {
    throw new BadRequest(`source ${JSON.stringify(name)}: no such file in the data directory`);
  }
  // A symlink inside the directory must not lead out of it.
  if (outside(realpathSync(dataDir), real)) throw new BadRequest(`source ${JSON.stringify(name)} is outside the data directory`);
  if (!statSync(real).isFile()) throw new BadRequest(`source ${JSON.stringify(name)} is not a file`);
  return real;
}

/** The name a downloaded matrix is saved under: its format kept (`.pcl`), compression removed. */
function savedName(url: URL): { ext: string; gzip: boolean } {
  const base = path.posix.basename(url.pathname).toLowerCase();
  const gzip = base.endsWith('.gz');
  const plain = gzip ? base.slice(0, -3) : base;
  return { ext: plain.endsWith('.pcl') ? '.pcl' : '.tsv', gzip };
}

/** Counts bytes through and fails the stream past `max`. */
function limit(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(new Error(`${what} is larger than the limit of ${max.toLocaleString('en-US')} bytes (GENESIM_MAX_DOWNLOAD_BYTES)`));
      else done(null, chunk);
    },
  });
}

/**
 * Streams an https source to `dir`, never holding it in memory; `.gz` is decompressed on the
 * way (the size limit applies to what lands on disk). Redirects are refused: they could lead
 * off the allow-list. Returns the file, which the caller removes.
 */
export async function download(url: URL, dir: string, label: string, maxBytes: number, signal: AbortSignal, stallSeconds = 60): Promise<string> {
  const { ext, gzip } = savedName(url);
  const file = path.join(dir, `genesim-${label}${ext}`);
  const shown = `${url.origin}${url.pathname}`; // never the query: signed URLs carry credentials there
  // Mid-body, the response reports the destroyed socket only as "aborted": the reason is kept here.
  let stalled: Error | null = null;
  try {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      // The socket's idle timeout covers the wait for an answer and every gap in the body: a
      // source that stops sending fails the job instead of holding it (and the lock) forever.
      const req = https.get(url, { signal, timeout: stallSeconds * 1000 }, resolve);
      req.on('timeout', () => {
        stalled = new Error(`download of ${shown} stalled: nothing received for ${stallSeconds} s (GENESIM_DOWNLOAD_STALL_SECONDS)`);
        req.destroy(stalled);
      });
      req.on('error', reject);
    });
    if (res.statusCode !== 200) {
      res.resume();
      throw new Error(`download of ${shown} failed: HTTP ${res.statusCode}${res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? ' (redirects are not followed)' : ''}`);
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (!gzip && declared > maxBytes) {
      res.resume();
      throw new Error(`${shown} is ${declared.toLocaleString('en-US')} bytes, over the limit of ${maxBytes.toLocaleString('en-US')} (GENESIM_MAX_DOWNLOAD_BYTES)`);
    }
    const stages = gzip ? [createGunzip(), limit(maxBytes, shown)] : [limit(maxBytes, shown)];
    await pipeline(res, ...(stages as [Transform]), createWriteStream(file), { signal });
    return file;
  } catch (err) {
    await rm(file, { force: true });
    throw stalled ?? err;
  }
}
