import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors';

/**
 * Where a repository is deployed to, in Triton's own spelling (`--model-repository`), and the
 * transport rules nx-triton applies before it talks to anything.
 *
 * Triton's S3 form, as core's src/filesystem/implementations/s3.h parses it (r24.10, the bundled
 * Triton 2.51): after CleanPath (extra slashes dropped, a trailing slash removed), the path must
 * match `s3://(http://|https://|)([0-9a-zA-Z\-.]+):([0-9]+)/([0-9a-z.\-]+)(((/[0-9a-zA-Z.\-_]+)*)?)`
 * for a custom endpoint; the scheme is HTTP unless `https://` is written, addressing is path-style.
 * Without `host:port` the first segment is the bucket on AWS's own endpoint (HTTPS). Every object
 * path Triton reads under a custom endpoint goes through the same expression, so model and file
 * names there are limited to `[0-9a-zA-Z.\-_]` (checked by `checkKeySegment`).
 */
export type Location = S3Location | LocalLocation;

export interface S3Location {
  kind: 's3';
  /** As the user wrote it, cleaned: what Triton's `--model-repository` takes. */
  url: string;
  /** A custom endpoint (`host:port`); absent on AWS's own endpoint. */
  endpoint?: { scheme: 'http' | 'https'; host: string; port: number };
  bucket: string;
  /** The repository's prefix in the bucket, no leading or trailing slash; never empty. */
  prefix: string;
}

export interface LocalLocation {
  kind: 'local';
  /** Absolute. */
  dir: string;
  url: string;
}

const S3_CUSTOM = /^s3:\/\/(http:\/\/|https:\/\/|)([0-9a-zA-Z\-.]+):([0-9]+)\/(.*)$/;
const BUCKET = /^[0-9a-z.-]+$/;
/** A path segment Triton's S3 expression takes under a custom endpoint. */
const TRITON_S3_SEGMENT = /^[0-9a-zA-Z._-]+$/;

/** Triton's CleanPath: the scheme kept, extra slashes dropped, no leading or trailing slash. */
function cleanS3(text: string): { scheme: string; path: string } {
  let rest = text.slice('s3://'.length);
  let scheme = '';
  for (const s of ['https://', 'http://']) {
    if (rest.startsWith(s)) {
      scheme = s;
      rest = rest.slice(s.length);
      break;
    }
  }
  return { scheme, path: rest.split('/').filter((p) => p !== '').join('/') };
}

/** Why `segment` (a model name, a file or directory name) cannot be an object path Triton reads under a custom S3 endpoint. */
export function tritonS3SegmentProblem(segment: string): string | undefined {
  return TRITON_S3_SEGMENT.test(segment) ? undefined : `Triton reads S3 object paths of the characters 0-9 a-z A-Z . - _ only (core's s3.h), and ${JSON.stringify(segment)} has others`;
}

export function parseLocation(text: string, cwd = process.cwd()): Location {
  if (typeof text !== 'string' || text.trim() === '') throw new UserError('the deploy repository is empty: give s3://host:port/bucket/prefix or a directory');
  if (/^(gs|as):\/\//.test(text)) {
    throw new UserError(
      `${text}: nx-triton deploys to S3-compatible stores (s3://) and directories; ${text.slice(0, 2)}:// is not supported (see the README, "Deploy")`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !text.startsWith('s3://')) {
    throw new UserError(`${text}: not a repository nx-triton deploys to: give s3://host:port/bucket/prefix, s3://bucket/prefix (AWS) or a directory`);
  }
  if (!text.startsWith('s3://')) {
    const dir = isAbsolute(text) ? resolve(text) : resolve(cwd, text);
    if (dir === '/') throw new UserError(`${text}: the repository cannot be the root directory (nx-triton keeps its state beside it)`);
    return { kind: 'local', dir, url: dir };
  }
  const { scheme, path } = cleanS3(text);
  const custom = S3_CUSTOM.exec(`s3://${scheme}${path}`);
  let endpoint: S3Location['endpoint'];
  let rest: string;
  if (custom) {
    const port = Number(custom[3]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`${text}: port ${custom[3]} is not a port number`);
    endpoint = { scheme: custom[1] === 'https://' ? 'https' : 'http', host: custom[2], port };
    rest = custom[4];
  } else {
    if (scheme) throw new UserError(`${text}: ${scheme} needs a host and a port after it, as Triton reads it: s3://${scheme}host:port/bucket/prefix`);
    if (/^[^/]*:/.test(path)) throw new UserError(`${text}: the endpoint must be host:port with a numeric port (Triton's form s3://host:port/bucket/prefix)`);
    rest = path;
  }
  const [bucket, ...parts] = rest.split('/');
  if (!bucket) throw new UserError(`${text}: no bucket (Triton's form: s3://host:port/bucket/prefix)`);
  if (!BUCKET.test(bucket)) throw new UserError(`${text}: bucket ${JSON.stringify(bucket)}: Triton takes bucket names of 0-9 a-z . - only`);
  if (parts.length === 0) {
    throw new UserError(`${text}: name a prefix inside the bucket (s3://…/${bucket}/<prefix>): nx-triton keeps its state beside the repository, outside what Triton reads`);
  }
  if (endpoint) {
    for (const p of parts) {
      const why = tritonS3SegmentProblem(p);
      if (why) throw new UserError(`${text}: ${why}`);
    }
  }
  const url = endpoint ? `s3://${scheme}${endpoint.host}:${endpoint.port}/${bucket}/${parts.join('/')}` : `s3://${bucket}/${parts.join('/')}`;
  return { kind: 's3', url, ...(endpoint ? { endpoint } : {}), bucket, prefix: parts.join('/') };
}

/** 127.0.0.0/8, ::1 and `localhost`: where plain HTTP never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The S3 endpoint's URL for the SDK (undefined on AWS's own endpoint), after the transport rule. */
export function s3EndpointUrl(location: S3Location, allowHttp: boolean): string | undefined {
  const e = location.endpoint;
  if (!e) return undefined;
  if (e.scheme === 'http' && !allowHttp && !isLoopbackHost(e.host)) {
    throw new UserError(
      `${location.url}: plain HTTP to ${e.host}:${e.port} (Triton's s3://host:port form is HTTP): write s3://https://${e.host}:${e.port}/${location.bucket}/${location.prefix} for TLS, or set allowHttp: true in the environment (--allow-http)`,
    );
  }
  return `${e.scheme}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

/** A Triton server's base URL (`http(s)://host:port[/path]`), checked and without a trailing slash. */
export function serverUrl(text: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`server ${JSON.stringify(text)} is not a URL (expected http(s)://host:port)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`server ${text}: expected an http:// or https:// URL of Triton's HTTP endpoint`);
  if (url.username || url.password) throw new UserError(`server ${url.protocol}//${url.host}${url.pathname}: credentials in a server URL are not supported`);
  if (url.search || url.hash) throw new UserError(`server ${text}: a server URL takes no query or fragment`);
  if (url.protocol === 'http:' && !allowHttp && !isLoopbackHost(url.hostname)) {
    throw new UserError(`server ${text}: plain HTTP beyond loopback; use https://, or set allowHttp: true in the environment (--allow-http)`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** The servers' base URLs, each checked by `serverUrl`, each once. */
export function serverUrls(texts: readonly string[] | undefined, allowHttp = false): string[] {
  return [...new Set((texts ?? []).map((t) => serverUrl(t, allowHttp)))];
}
