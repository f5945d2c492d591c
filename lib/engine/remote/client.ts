import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { printable } from '../../errors';
import { canonicalJson, type EngineKeyParts } from '../key';
import { formatFingerprint, type Fingerprint } from '../fingerprint';
import { Readable } from 'node:stream';
import {
  BUILD_HEADER,
  declaredBodyBytes,
  encodeBuildRequest,
  MAX_BUILD_HEADER_BYTES,
  MAX_EVENT_LINE_BYTES,
  PROTOCOL_VERSION,
  type BuildEvent,
  type BuildRequest,
  type FingerprintReply,
  type PlanManifest,
} from './protocol';

export interface RetryOptions {
  /** Further attempts after a connection error or a 503 (default 3). */
  retries?: number;
  /** First wait; doubled each time (default 500 ms). */
  backoffMs?: number;
  /** Longest wait, Retry-After included (default 30 s). */
  maxDelayMs?: number;
}

export interface ClientOptions {
  token?: string;
  /** Connect and answer timeout of a fingerprint request (default 10 s). */
  timeoutMs?: number;
  retry?: RetryOptions;
}

/** What a builder said about itself, or why it could not be asked. */
export interface BuilderInfo {
  url: string;
  fingerprint?: Fingerprint;
  maxUploadBytes?: number;
  /** Whether it takes ONNX models with external data (builders from before that say nothing). */
  takesExternalData?: boolean;
  /** Its nx-triton version, when it says. */
  version?: string;
  error?: string;
  /** true when no answer came at all (connection errors or a full queue, after the retries). */
  unreachable?: boolean;
}

/** A failure worth another attempt: the connection, or a full queue. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Anything else the builder answered: a refusal, a failed build, a bad reply. */
export class BuilderError extends Error {}

/** The retries ran out on connection errors or full queues: the builder gave no answer. */
export class UnreachableError extends BuilderError {}

export function endpoint(base: string, path: string): URL {
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/** A short description of a builder for messages: `NVIDIA A100 (cc 8.0, TensorRT 10.3.0.26)` or why it is out. */
export function describeBuilder(b: BuilderInfo): string {
  if (!b.fingerprint) return `${b.url}: ${b.error ?? 'no answer'}`;
  return `${b.url}: ${formatFingerprint(b.fingerprint)}`;
}

/** GET /v1/fingerprint, retried on connection errors; never throws. */
export async function probeBuilder(url: string, o: ClientOptions = {}): Promise<BuilderInfo> {
  try {
    const reply = await withRetries(o.retry, async () => {
      const res = await send(endpoint(url, 'v1/fingerprint'), 'GET', headers(o.token), undefined, o.timeoutMs ?? 10_000);
      const body = await readSmall(res);
      if (res.statusCode !== 200) throw statusError(res, body);
      let parsed: FingerprintReply;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new BuilderError('answered /v1/fingerprint with something that is not JSON');
      }
      if (parsed?.protocol !== PROTOCOL_VERSION || typeof parsed.fingerprint !== 'object') {
        throw new BuilderError(`speaks protocol ${JSON.stringify(parsed?.protocol)}, this client ${PROTOCOL_VERSION}`);
      }
      return parsed;
    });
    return {
      url,
      fingerprint: reply.fingerprint,
      maxUploadBytes: reply.max_upload_bytes,
      ...(reply.external_data === true ? { takesExternalData: true } : {}),
      ...(typeof reply.nx_triton === 'string' ? { version: reply.nx_triton.slice(0, 64) } : {}),
    };
  } catch (err) {
    return { url, error: (err as Error).message, ...(err instanceof UnreachableError ? { unreachable: true } : {}) };
  }
}

/** A builder's fingerprint as last fetched, kept in the local engine store. */
export interface RememberedFingerprint {
  url: string;
  fingerprint: Fingerprint;
  /** ISO time it was fetched. */
  seen_at: string;
}

function rememberedFile(storeRoot: string, url: string): string {
  return join(storeRoot, 'builders', `${createHash('sha256').update(url).digest('hex')}.json`);
}

/** Writes `<store>/builders/<sha256(url)>.json` (temp file + rename); best effort, never throws. */
export async function rememberFingerprint(storeRoot: string, url: string, fingerprint: Fingerprint, seenAt = new Date()): Promise<void> {
  const file = rememberedFile(storeRoot, url);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const entry: RememberedFingerprint = { url, fingerprint, seen_at: seenAt.toISOString() };
  try {
    await mkdir(join(storeRoot, 'builders'), { recursive: true });
    await writeFile(tmp, JSON.stringify(entry, null, 2) + '\n');
    await rename(tmp, file);
  } catch {
    // only a fallback for when the builder is unreachable: a read-only store must not fail the build
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** The fingerprint remembered for `url`, or undefined when none (or an unreadable one) is kept. */
export async function readRememberedFingerprint(storeRoot: string, url: string): Promise<RememberedFingerprint | undefined> {
  let entry: Partial<RememberedFingerprint>;
  try {
    entry = JSON.parse(await readFile(rememberedFile(storeRoot, url), 'utf8'));
  } catch {
    return undefined;
  }
  const fp = entry?.fingerprint as Partial<Fingerprint> | undefined;
  const gpuOk = fp?.gpu === 'no-gpu' || (typeof fp?.gpu === 'object' && typeof fp.gpu?.name === 'string' && typeof fp.gpu.computeCapability === 'string');
  const trtOk = fp?.tensorrt === 'no-tensorrt' || (typeof fp?.tensorrt === 'object' && typeof fp.tensorrt?.version === 'string');
  if (entry.url !== url || typeof entry.seen_at !== 'string' || !gpuOk || !trtOk || typeof fp?.os !== 'string' || typeof fp.arch !== 'string') return undefined;
  return entry as RememberedFingerprint;
}

export interface PlanRequest extends ClientOptions {
  onnxFile: string;
  onnxBytes: number;
  /** The external-data files sent after the ONNX, in the order of `request.external_data`. */
  externalFiles?: string[];
  request: BuildRequest;
  /** Where the plan goes (the engine store's temp path). */
  planPath: string;
  /** The key and parts this client computed from the builder's fingerprint. */
  expected: { key: string; parts: EngineKeyParts };
  onLog: (line: string) => void;
  /** Every progress event as it arrives (e.g. `accepted`: the upload was received and checked). */
  onEvent?: (e: BuildEvent) => void;
}

/** POST /v1/engines: uploads the ONNX, relays the build's log, writes and verifies the plan. */
export async function requestPlan(url: string, o: PlanRequest): Promise<{ manifest: PlanManifest; hit: boolean }> {
  const encoded = encodeBuildRequest(o.request);
  if (Buffer.byteLength(JSON.stringify(o.request)) > MAX_BUILD_HEADER_BYTES) {
    throw new BuilderError(`the build request is ${Buffer.byteLength(JSON.stringify(o.request))} bytes; a builder takes at most ${MAX_BUILD_HEADER_BYTES} (${o.request.inputs.length} inputs${o.request.external_data ? `, ${o.request.external_data.length} external-data files` : ''})`);
  }
  return withRetries(o.retry, async (attempt) => {
    if (attempt > 0) o.onLog(`retrying (attempt ${attempt + 1})`);
    const res = await send(
      endpoint(url, 'v1/engines'),
      'POST',
      { ...headers(o.token), 'content-type': 'application/octet-stream', 'content-length': declaredBodyBytes(o.request) ?? o.onnxBytes, [BUILD_HEADER]: encoded },
      () => bodyStream([o.onnxFile, ...(o.externalFiles ?? [])]),
    );
    if (res.statusCode !== 200) throw statusError(res, await readSmall(res));
    return readBuildReply(res, o);
  });
}

/** The files one after the other, as one stream (the ONNX, then its external data), each streamed from disk. */
function bodyStream(files: string[]): NodeJS.ReadableStream {
  return Readable.from(
    (async function* () {
      for (const file of files) yield* createReadStream(file, { highWaterMark: 1 << 20 });
    })(),
    { objectMode: false },
  );
}

async function readBuildReply(res: IncomingMessage, o: PlanRequest): Promise<{ manifest: PlanManifest; hit: boolean }> {
  let pending: Buffer = Buffer.alloc(0);
  let done: Extract<BuildEvent, { event: 'done' }> | undefined;
  const fh = await open(o.planPath, 'w');
  const hash = createHash('sha256');
  let received = 0;
  const take = async (chunk: Buffer): Promise<void> => {
    if (!done) throw new Error('unreachable');
    if (received + chunk.length > done.plan_bytes) throw new BuilderError(`sent more than the ${done.plan_bytes} plan bytes it announced`);
    received += chunk.length;
    hash.update(chunk);
    await fh.write(chunk);
  };
  try {
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (done) {
          await take(chunk);
          continue;
        }
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let nl: number;
        while (!done && (nl = pending.indexOf(10)) >= 0) {
          const line = pending.subarray(0, nl).toString('utf8');
          pending = pending.subarray(nl + 1);
          const e = parseEvent(line);
          o.onEvent?.(e);
          if (e.event === 'log') o.onLog(printable(e.line)); // a builder's text: never raw controls on this terminal
          else if (e.event === 'queued') o.onLog(`queued (position ${e.position})`);
          else if (e.event === 'error') throw new BuilderError(e.message);
          else if (e.event === 'done') done = e;
        }
        if (done && pending.length) await take(pending);
        else if (pending.length > MAX_EVENT_LINE_BYTES) throw new BuilderError('sent an event line longer than 1 MiB');
      }
    } catch (err) {
      if (err instanceof BuilderError) throw err;
      throw new RetryableError(`the connection was lost ${done ? 'while receiving the plan' : 'during the build'} (${(err as Error).message})`);
    }
    if (!done) throw new RetryableError('the connection closed before the build finished (the builder stopped?)');
    if (received !== done.plan_bytes) throw new RetryableError(`the connection closed after ${received} of ${done.plan_bytes} plan bytes`);
  } finally {
    await fh.close();
  }
  const m = done.manifest;
  if (m.key !== o.expected.key || canonicalJson(m.parts) !== canonicalJson(o.expected.parts)) {
    throw new BuilderError(
      `built engine ${String(m.key).slice(0, 12)} but ${o.expected.key.slice(0, 12)} was asked for ` +
        `(the builder's GPU or TensorRT changed since its fingerprint was read?): it built ${canonicalJson(m.parts.gpu)} TensorRT ${m.parts.tensorrt}`,
    );
  }
  const sha256 = hash.digest('hex');
  if (received !== m.plan.size || sha256 !== m.plan.sha256) {
    throw new BuilderError(`sent a plan of ${received} bytes with sha256 ${sha256}; its manifest says ${m.plan.size} bytes, ${m.plan.sha256}`);
  }
  return { manifest: m, hit: done.hit };
}

function parseEvent(line: string): BuildEvent {
  let e: BuildEvent;
  try {
    e = JSON.parse(line);
  } catch {
    throw new BuilderError(`sent a progress line that is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof e !== 'object' || e === null || typeof e.event !== 'string') throw new BuilderError(`sent an unknown progress line: ${line.slice(0, 200)}`);
  if (e.event === 'log' && typeof e.line !== 'string') throw new BuilderError('sent a log event without a line');
  if (e.event === 'done' && (!Number.isSafeInteger(e.plan_bytes) || e.plan_bytes < 0 || typeof e.manifest?.key !== 'string' || typeof e.manifest?.plan?.sha256 !== 'string')) {
    throw new BuilderError('sent a malformed done event');
  }
  if (e.event === 'error') return { event: 'error', message: String(e.message) };
  return e;
}

function headers(token: string | undefined): OutgoingHttpHeaders {
  return token ? { authorization: `Bearer ${token}` } : {};
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/**
 * One HTTP request; resolves with the response (the body unread). A request that fails before
 * any response is a RetryableError. An upload the server answers early (401/413/503) is cut short.
 */
function send(url: URL, method: string, hdrs: OutgoingHttpHeaders, body?: () => NodeJS.ReadableStream, timeoutMs?: number): Promise<IncomingMessage> {
  return new Promise((ok, ko) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let answered = false;
    const req = request(url, { method, headers: hdrs }, (res) => {
      answered = true;
      if (timeoutMs) req.setTimeout(0);
      ok(res);
    });
    if (timeoutMs) req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return; // the response stream reports its own end
      const what = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
      if (err.code === undefined || CONNECTION_ERRORS.has(err.code) || /socket hang up/.test(err.message)) ko(new RetryableError(what));
      else ko(new BuilderError(what));
    });
    if (!body) {
      req.end();
      return;
    }
    const stream = body();
    stream.on('error', (err) => req.destroy(err));
    stream.pipe(req);
    req.once('response', (res) => {
      // An early answer: stop uploading what nobody reads.
      if (res.statusCode !== 200) stream.unpipe(req);
    });
  });
}

async function readSmall(res: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      n += c.length;
      if (n <= limit) chunks.push(c);
    }
  } catch {
    // a closed connection after the status line: keep what came
  }
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(res: IncomingMessage, body: string): Error {
  let message = body.trim();
  try {
    const parsed = JSON.parse(body);
    if (typeof parsed?.error === 'string') message = parsed.error;
  } catch {
    // not JSON (e.g. a reverse proxy's HTML page)
  }
  message = message.slice(0, 500);
  const status = res.statusCode ?? 0;
  if (status === 401) return new BuilderError(`refused the token (401: ${message}); set NX_TRITON_BUILDER_TOKEN to the builder's token`);
  if (status === 503 || status === 502 || status === 504) {
    const after = Number(res.headers['retry-after']);
    return new RetryableError(`busy (${status}: ${message})`, Number.isFinite(after) && after >= 0 ? after * 1000 : undefined);
  }
  return new BuilderError(`answered ${status}: ${message}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withRetries<T>(r: RetryOptions | undefined, fn: (attempt: number) => Promise<T>): Promise<T> {
  const retries = r?.retries ?? 3;
  const backoff = r?.backoffMs ?? 500;
  const maxDelay = r?.maxDelayMs ?? 30_000;
  const seen: string[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof RetryableError)) {
        if (seen.length && err instanceof Error) err.message = `${err.message} (earlier: ${seen.join('; ')})`;
        throw err;
      }
      seen.push(err.message);
      if (attempt >= retries) {
        const retried = seen.length > 1 ? `; retried ${seen.length - 1} time${seen.length > 2 ? 's' : ''}: ${seen.slice(1).join('; ')}` : '';
        throw new UnreachableError(`${seen[0]}${retried}`);
      }
      await sleep(Math.min(maxDelay, err.retryAfterMs ?? backoff * 2 ** attempt));
    }
  }
}
