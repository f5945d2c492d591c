import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { printable, UserError } from '../../errors';
import { ONNX_FILE, PLAN_FILE } from '../../layout';
import { prepareEngine } from '../build-engine';
import { readFingerprint, tensorRtVersionText, type Fingerprint } from '../fingerprint';
import type { StoreResult } from '../store';
import { tensorRtRelease } from '../../releases/tensorrt';
import { trtexecArgs } from '../trtexec-args';
import { readOnnxSignature } from '../../onnx';
import { externalDataProblem, uniqueExternalData } from '../../onnx/external-data';
import { isInside } from '../../system/copy-tree';
import { packageVersion } from '../../system/package-root';
import { bearerMatches } from './auth';
import { keepBeating, ownerGone, ownerOfMatch, ownerTag, OWNER_PATTERN, seesPid } from '../../system/owner';
import { killRecordedGroup } from '../../system/process-group';
import {
  BUILD_HEADER,
  declaredBodyBytes,
  decodeBuildRequest,
  eventLine,
  fromBuildRequest,
  MAX_LOG_LINE_CHARS,
  MAX_REQUEST_HEADER_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  type BuildEvent,
  type BuildRequest,
  type FingerprintReply,
  type PlanManifest,
} from './protocol';

export interface BuilderServerOptions {
  host: string;
  port: number;
  /** Bearer token; undefined only when auth was switched off explicitly. */
  token: string | undefined;
  maxUploadBytes: number;
  /** Builds that run at once. */
  jobs: number;
  /** Builds that may wait for a job slot (uploads in progress count too). */
  queue: number;
  /** The builder's own engine store. */
  engineCache: string;
  /** trtexec to run (path or name on PATH); default `trtexec`. */
  trtexec?: string;
  /** Longest time to receive a whole request (headers and upload). */
  requestTimeoutMs: number;
  /** Longest silence from the client during an upload. */
  idleTimeoutMs: number;
  /** Slowest upload accepted (bytes per second, averaged), once `uploadGraceMs` have passed; 0: no minimum. */
  minUploadBytesPerSecond?: number;
  uploadGraceMs?: number;
  /** Seconds a client is told to wait when the queue is full. */
  retryAfterSeconds?: number;
  /** Environment of trtexec and nvidia-smi. */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface RunningBuilder {
  url: string;
  port: number;
  fingerprint: Fingerprint;
  close(): Promise<void>;
}

const HEARTBEAT_MS = 15_000;
/** In a job's dir: the model in Triton's directory form (`model.onnx` and its external data), and the parts as they arrive. */
const MODEL_DIR = 'model';
const PARTS_DIR = 'parts';
/** Sockets that may wait for their first request's token at once (issue 22, N9). */
const PRE_AUTH_SOCKETS = 32;
/** The longest a socket may take to send a request's headers. */
const HEADERS_TIMEOUT_MS = 10_000;
const FINGERPRINT_TTL_MS = 30_000;

/** A counting semaphore with a FIFO of waiters. */
class Slots {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly size: number) {}
  get waiting(): number {
    return this.waiters.length;
  }
  /** A release function, or undefined when `gone` fired while waiting (the waiter leaves the queue). */
  async acquire(onQueued: (position: number) => void, gone?: AbortSignal): Promise<(() => void) | undefined> {
    if (this.active < this.size) this.active++;
    else {
      onQueued(this.waiters.length + 1);
      const got = await new Promise<boolean>((r) => {
        const wake = (): void => r(true);
        this.waiters.push(wake);
        gone?.addEventListener('abort', () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) {
            this.waiters.splice(i, 1);
            r(false);
          }
        });
      });
      if (!got) return undefined;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/** What every request of one running builder shares. */
interface Service {
  o: BuilderServerOptions;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  trtexec: string;
  /** This process's upload dir (`<store>/builder-uploads/<owner tag>.<random>`), kept fresh by a heartbeat. */
  mine: string;
  stopBeating(): void;
  slots: Slots;
  /** Admitted build requests whose upload is still on disk. */
  admitted: number;
  fingerprint(): Promise<Fingerprint>;
  /** Called once a request on `socket` showed the token (or auth is off): it no longer counts as waiting. */
  authenticated(socket: Socket): void;
  /** A job's text as a client may see it: no absolute path of this machine (issue 13.7). */
  hidePaths(jobDir: string): (text: string) => string;
}

type Route = (s: Service, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** The builder's endpoints; `/v1/*` need the bearer token. */
const ROUTES: Record<string, Record<string, Route>> = {
  '/healthz': { GET: (_s, _req, res) => text(res, 200, 'ok\n'), HEAD: (_s, _req, res) => text(res, 200, 'ok\n') },
  '/v1/fingerprint': { GET: fingerprintRoute },
  '/v1/engines': { POST: enginesRoute },
};

/** Starts `nx-triton builder`'s HTTP service; resolves once it listens. */
export async function startBuilder(o: BuilderServerOptions): Promise<RunningBuilder> {
  const s = await openService(o);
  // Sockets that have shown no token yet; when more than PRE_AUTH_SOCKETS wait, the oldest is dropped, so silent
  // sockets never fill the room requests with the token need (issue 22, N9).
  const waiting = new Set<Socket>();
  const spoken = new WeakSet<Socket>();
  s.authenticated = (socket) => void waiting.delete(socket);
  const server: Server = createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES, connectionsCheckingInterval: 1000 }, (req, res) => {
    spoken.add(req.socket);
    route(s, req, res).catch((err) => {
      s.log(`nx-triton builder: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.requestTimeout = o.requestTimeoutMs;
  // A socket that has not sent its headers within 10 s is dropped (checked every second).
  server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, o.requestTimeoutMs);
  server.maxHeadersCount = 64;
  // Connections at once: every admitted build and queued upload, room for probes, and the sockets still to show a token.
  server.maxConnections = 4 * (o.jobs + o.queue) + 32 + PRE_AUTH_SOCKETS;
  server.on('connection', (socket: Socket) => {
    waiting.add(socket);
    // Node's headersTimeout starts with the first byte: a socket that sends none is dropped here.
    const silent = setTimeout(() => void (spoken.has(socket) || socket.destroy()), HEADERS_TIMEOUT_MS);
    silent.unref();
    socket.once('close', () => {
      clearTimeout(silent);
      waiting.delete(socket);
    });
    if (waiting.size > PRE_AUTH_SOCKETS) {
      const oldest = waiting.values().next().value as Socket;
      waiting.delete(oldest);
      oldest.destroy();
    }
  });

  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(o.port, o.host, () => {
      server.off('error', ko);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    port,
    fingerprint: await s.fingerprint(),
    close: async () => {
      server.closeIdleConnections();
      await new Promise<void>((r) => server.close(() => r()));
      s.stopBeating();
      await rm(s.mine, { recursive: true, force: true });
    },
  };
}

/** Probes this machine (a GPU and trtexec are required) and claims an upload dir in the store. */
async function openService(o: BuilderServerOptions): Promise<Service> {
  const env = { ...(o.env ?? process.env), NX_TRITON_ENGINE_CACHE: resolve(o.engineCache) };
  const trtexec = o.trtexec ?? 'trtexec';
  const probe = async (): Promise<Fingerprint> => readFingerprint({ trtexec, env });
  let fingerprint = await probe();
  if (fingerprint.gpu === 'no-gpu') throw new UserError('nx-triton builder: no NVIDIA GPU found (nvidia-smi failed): a builder builds engines on its own GPU');
  if (fingerprint.tensorrt === 'no-tensorrt') {
    throw new UserError(`nx-triton builder: trtexec ("${trtexec}") not found or not answering; put TensorRT's bin directory on PATH or pass --trtexec`);
  }
  let probedAt = Date.now();

  const uploads = join(resolve(o.engineCache), 'builder-uploads');
  // Model and input names come from clients: printed escaped (issue 22, F11).
  const log = (line: string): void => (o.log ?? console.log)(printable(line));
  await removeDeadUploads(uploads, log);
  // Named like the store's temp dirs (host, boot, pid): builders in other containers sharing the store keep theirs.
  const mine = join(uploads, `${ownerTag()}.${randomBytes(4).toString('hex')}`);
  await mkdir(mine, { recursive: true });
  // Builders that cannot see this pid (other containers on the store) judge the dir by this heartbeat.
  const stopBeating = keepBeating(mine);

  const storeRoot = resolve(o.engineCache);
  const trtexecPath = resolveTrtexec(trtexec);
  return {
    o,
    env,
    log,
    trtexec,
    mine,
    stopBeating,
    authenticated: () => undefined,
    slots: new Slots(o.jobs),
    admitted: 0,
    fingerprint: async () => {
      if (Date.now() - probedAt > FINGERPRINT_TTL_MS) {
        fingerprint = await probe();
        probedAt = Date.now();
      }
      return fingerprint;
    },
    hidePaths: (jobDir) => (line) =>
      [
        [jobDir, '<job>'],
        [storeRoot, '<store>'],
        [trtexecPath, 'trtexec'],
      ].reduce((t, [path, name]) => (path.startsWith('/') || /^[A-Za-z]:/.test(path) ? t.split(path).join(name) : t), line),
  };
}

/** 404 / 401 / 405 before any route runs; only an admitted build reads a body. */
async function route(s: Service, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  // Every answer other than an admitted build closes the connection once sent, so a client (with or
  // without a token) cannot hold sockets open with a large Content-Length (issue 13.3).
  if (!(path === '/v1/engines' && req.method === 'POST')) closeAfterAnswer(req, res);
  const methods = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (!methods) return json(res, 404, { error: `no such endpoint: ${path}` });
  if (path.startsWith('/v1/') && s.o.token !== undefined && !bearerMatches(req.headers.authorization, s.o.token)) {
    return json(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="nx-triton-builder"', connection: 'close' });
  }
  if (path.startsWith('/v1/')) s.authenticated(req.socket);
  const handler = Object.hasOwn(methods, req.method ?? '') ? methods[req.method ?? ''] : undefined;
  const allowed = Object.keys(methods).filter((m) => m !== 'HEAD');
  if (!handler) return json(res, 405, { error: `use ${allowed.join(' or ')}` }, { allow: allowed.join(', ') });
  await handler(s, req, res);
}

async function fingerprintRoute(s: Service, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply: FingerprintReply = {
    protocol: PROTOCOL_VERSION,
    fingerprint: await s.fingerprint(),
    max_upload_bytes: s.o.maxUploadBytes,
    external_data: true,
    nx_triton: packageVersion(),
  };
  json(res, 200, reply);
}

/** Admission: a request counts until its upload is off the disk, so uploads stay under (jobs + queue) x --max-upload-bytes (issue 13.1). */
async function enginesRoute(s: Service, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { o } = s;
  if (s.admitted >= o.jobs + o.queue) {
    return json(
      res,
      503,
      { error: `busy: ${s.admitted} builds running or queued (--jobs ${o.jobs}, --queue ${o.queue})` },
      { 'retry-after': String(o.retryAfterSeconds ?? 5), connection: 'close' },
    );
  }
  s.admitted++;
  const jobDir = join(s.mine, randomBytes(8).toString('hex'));
  try {
    const job = await acceptJob(s, req, res, jobDir);
    if (job) await runJob(s, res, job);
  } finally {
    await rm(jobDir, { recursive: true, force: true });
    s.admitted--;
  }
}

/** A checked build request with its upload on disk: `<job>/model/model.onnx` and its external data beside it. */
interface Job {
  request: BuildRequest;
  jobDir: string;
  /** `<job>/model/`: the ONNX in Triton's directory form, its external data at the locations the ONNX names. */
  modelDir: string;
  upload: { bytes: number; sha256: string };
  /** The external-data files, by the locations the ONNX names: their sha256, hashed on the way. */
  externalData: Record<string, string>;
}

/** The request checked as the engine target checks it, then the upload received and checked; undefined once answered. */
async function acceptJob(s: Service, req: IncomingMessage, res: ServerResponse, jobDir: string): Promise<Job | undefined> {
  const { o } = s;
  let request: BuildRequest;
  const fp = await s.fingerprint();
  try {
    request = decodeBuildRequest(req.headers[BUILD_HEADER]);
    // What the engine target checks before building, checked here the same way (and refused before the upload).
    trtexecArgs(fromBuildRequest(request), tensorRtRelease(tensorRtVersionText(fp.tensorrt)), { onnx: ONNX_FILE, plan: PLAN_FILE });
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof UserError) return void json(res, 400, { error: `bad build request: ${err.message}` }, { connection: 'close' });
    throw err;
  }
  const declared = req.headers['content-length'];
  const body = declaredBodyBytes(request);
  if (body !== undefined && (declared === undefined || Number(declared) !== body)) {
    // Parts end where the request says: the body must be exactly that long (Node holds it to its Content-Length).
    return void refuseRest(req, res, 400, `bad build request: the ONNX and its external data are ${body} bytes; the body must be sent with Content-Length: ${body}`);
  }
  if (declared !== undefined && Number(declared) > o.maxUploadBytes) return void tooLarge(req, res, o.maxUploadBytes, Number(declared));

  const modelDir = join(jobDir, MODEL_DIR);
  const onnxPath = join(modelDir, ONNX_FILE);
  // External data is received under neutral names first; it takes the ONNX's own locations once they are checked.
  const files = request.external_data ?? [];
  const parts: Part[] = [{ path: onnxPath, bytes: request.onnx_bytes }, ...files.map((f, i) => ({ path: join(jobDir, PARTS_DIR, String(i)), bytes: f.bytes }))];
  req.setTimeout(o.idleTimeoutMs, () => req.destroy(new Error('upload idle timeout')));
  const upload = await Promise.all([mkdir(modelDir, { recursive: true }), mkdir(join(jobDir, PARTS_DIR), { recursive: true })]).then(
    () => receive(req, parts, o.maxUploadBytes, { bytesPerSecond: o.minUploadBytesPerSecond ?? 0, graceMs: o.uploadGraceMs ?? 30_000 }),
    (err: unknown) => (isNoSpace(err) ? ('no-space' as const) : Promise.reject(err)),
  );
  if (upload === 'aborted') return undefined;
  if (upload === 'no-space') {
    // enginesRoute removes the partial upload (jobDir) once this returns.
    s.log(`nx-triton builder: refused an upload of ${request.model}: no space left in ${s.mine}`);
    return void refuseRest(req, res, 507, `the builder's disk is full (no space left for the upload in its engine store); try again later or another builder`);
  }
  if (upload === 'too-slow') {
    json(res, 408, { error: `the upload was slower than ${o.minUploadBytesPerSecond} bytes/s over the last ${(o.uploadGraceMs ?? 30_000) / 1000} s (--min-upload-rate, --upload-grace)` }, { connection: 'close' });
    const timer = setTimeout(() => req.socket.destroy(), 2000);
    timer.unref();
    return undefined;
  }
  if (upload === 'too-large') return void tooLarge(req, res, o.maxUploadBytes);
  req.setTimeout(0);
  const [onnxSha, ...fileShas] = upload.sha256;
  if (onnxSha !== request.onnx_sha256) {
    return void json(res, 400, { error: `the upload's sha256 is ${onnxSha}, the request says ${request.onnx_sha256} (${upload.bytes} bytes received)` });
  }
  const badFile = files.findIndex((f, i) => fileShas[i] !== f.sha256);
  if (badFile >= 0) {
    return void json(res, 400, { error: `external data ${JSON.stringify(files[badFile].location)}: its sha256 is ${fileShas[badFile]}, the request says ${files[badFile].sha256}` });
  }
  let locations: string[];
  try {
    locations = uniqueExternalData((await readOnnxSignature(onnxPath)).externalData);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return void json(res, 400, { error: `the upload is not a readable ONNX model: ${err.message.split(onnxPath).join('upload')}` });
  }
  const sent = files.map((f) => f.location).sort();
  if (locations.length > 0 && files.length === 0) {
    return void json(res, 400, {
      error: `the model has external data (${locations.join(', ')}) but the request sends none: this client's nx-triton sends single-file ONNX models only; update nx-triton where the engine target runs`,
    });
  }
  if (sent.join('\0') !== locations.join('\0')) {
    return void json(res, 400, { error: `the request sends external data [${sent.join(', ')}], but the model names [${locations.join(', ')}]` });
  }
  // Names from the ONNX alone (checked: relative, no "..", the request's list equal to them), inside <job>/model/.
  const externalData: Record<string, string> = {};
  for (const [i, f] of files.entries()) {
    const problem = externalDataProblem(f.location);
    if (problem) return void json(res, 400, { error: `external data ${JSON.stringify(f.location)} cannot be used: ${problem}` });
    const dest = join(modelDir, f.location);
    if (!isInside(modelDir, dest) || dest === onnxPath) return void json(res, 400, { error: `external data ${JSON.stringify(f.location)} would land outside the model` });
    await mkdir(dirname(dest), { recursive: true });
    await rename(parts[i + 1].path, dest);
    externalData[f.location] = f.sha256;
  }
  return { request, jobDir, modelDir, upload: { bytes: upload.bytes, sha256: onnxSha }, externalData };
}

/** Waits for a job slot, then builds through the builder's own engine store, streaming events and the plan. */
async function runJob(s: Service, res: ServerResponse, job: Job): Promise<void> {
  const { request, modelDir, upload } = job;
  const hidePaths = s.hidePaths(job.jobDir);
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const send = (e: BuildEvent): void => {
    if (!res.destroyed && !res.writableEnded) res.write(eventLine(e));
  };
  send({ event: 'accepted', onnx_bytes: upload.bytes });
  const heartbeat = setInterval(() => send({ event: 'heartbeat' }), HEARTBEAT_MS);
  heartbeat.unref();
  // A client that leaves while queued gives up its place, and its upload goes at once.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const release = await s.slots.acquire((position) => send({ event: 'queued', position }), gone.signal);
  if (!release) {
    clearInterval(heartbeat);
    await rm(modelDir, { recursive: true, force: true });
    return;
  }
  try {
    if (res.destroyed) return; // the client left while queued: nobody wants the plan
    send({ event: 'started' });
    const started = Date.now();
    const prepared = await prepareEngine({
      workspaceRoot: job.jobDir,
      request: fromBuildRequest(request),
      // The client's options, never its trtexec: that is the builder's own.
      trtexec: resolveTrtexec(s.trtexec),
      onnxPath: modelDir,
      externalData: Object.keys(job.externalData),
      outDir: job.jobDir,
      engineCache: s.o.engineCache,
      onnxDigest: { sha256: upload.sha256, external_data: job.externalData },
      trtexecGroupFile: join(job.jobDir, TRTEXEC_GROUP_FILE),
      env: s.env,
      log: (line) => send({ event: 'log', line: clip(hidePaths(line)) }),
    });
    const { got, fh } = await openPlan(prepared.get);
    await rm(modelDir, { recursive: true, force: true }); // built or found: the upload is done with
    // The plan is in the store: the job slot is free for the next build, however slowly this client reads (issue 22, N6).
    release();
    try {
      const manifest: PlanManifest = {
        key: got.manifest.key,
        parts: got.manifest.parts,
        plan: { size: got.manifest.plan.size, sha256: got.manifest.plan.sha256 },
        command: got.manifest.command,
      };
      s.log(`nx-triton builder: ${request.model} ${got.hit ? 'from the store' : 'built'} (${manifest.key.slice(0, 12)}, ${manifest.plan.size} bytes, ${Date.now() - started} ms)`);
      clearInterval(heartbeat);
      send({ event: 'done', hit: got.hit, manifest, plan_bytes: manifest.plan.size });
      // A client that stops reading the plan is ended after --idle-timeout without progress.
      res.setTimeout(s.o.idleTimeoutMs, () => {
        s.log(`nx-triton builder: ${request.model}: the client read nothing of the plan for ${s.o.idleTimeoutMs / 1000} s (--idle-timeout); answer ended`);
        res.destroy();
      });
      if (!res.destroyed) {
        await pipeline(fh.createReadStream({ start: 0, end: manifest.plan.size - 1, autoClose: false }), res).catch((err: unknown) => {
          if (!res.destroyed) throw err; // a client that left (or was ended) is no error of the build
        });
      }
    } finally {
      await fh.close();
    }
  } catch (err) {
    const message = err instanceof UserError ? err.message : `internal error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    if (!(err instanceof UserError)) s.log(`nx-triton builder: ${request.model}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    send({ event: 'error', message: hidePaths(message) });
  } finally {
    clearInterval(heartbeat);
    release();
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

/** The store entry's plan, opened: an open file survives a concurrent eviction of the entry. */
async function openPlan(get: () => Promise<StoreResult>): Promise<{ got: StoreResult; fh: Awaited<ReturnType<typeof open>> }> {
  for (let attempt = 1; ; attempt++) {
    const got = await get();
    try {
      return { got, fh: await open(got.planPath, 'r') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

function clip(line: string): string {
  return line.length > MAX_LOG_LINE_CHARS ? `${line.slice(0, MAX_LOG_LINE_CHARS)}…` : line;
}

function resolveTrtexec(t: string): string {
  return t.includes('/') || t.includes('\\') ? resolve(t) : t;
}

type Upload = { bytes: number; sha256: string[] } | 'too-large' | 'too-slow' | 'aborted' | 'no-space';

/** One file of a body: `bytes` of it, or (undefined) the rest of the body. */
interface Part {
  path: string;
  bytes?: number;
}

/** A write failed for want of space (a full disk, or a quota). */
function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Streams the body into `parts`, one file after the other, hashing each and counting on the way;
 * stops writing past `max`, and when the rate over the last `minRate.graceMs` is under
 * `minRate.bytesPerSecond` once that long has passed (a client feeding one byte every few seconds
 * would otherwise hold a slot for the whole request timeout). A sliding window, not the average from
 * the start: fast first megabytes must not buy a trickle after them (issue 22, N14).
 */
function receive(req: IncomingMessage, parts: Part[], max: number, minRate: { bytesPerSecond: number; graceMs: number }): Promise<Upload> {
  return new Promise((ok, ko) => {
    const hashes: string[] = [];
    const written: Array<Promise<void>> = [];
    let index = -1;
    let out: WriteStream | undefined;
    let hash = createHash('sha256');
    let left = 0;
    let bytes = 0;
    let settled = false;
    const started = Date.now();
    const fail = (err: Error): void => {
      if (!isNoSpace(err)) return settle(err);
      req.resume(); // drain what the client still sends until the answer closes the connection
      settle('no-space');
    };
    /** Ends the current part (if any) and opens the next; a part of 0 bytes is written at once. */
    const next = (): void => {
      if (out) {
        const done = out;
        hashes.push(hash.digest('hex'));
        written.push(new Promise((r, j) => done.once('finish', () => r()).once('error', j)));
        done.end();
      }
      index++;
      out = undefined;
      if (index >= parts.length) return;
      hash = createHash('sha256');
      left = parts[index].bytes ?? Infinity;
      out = createWriteStream(parts[index].path, { highWaterMark: 1 << 20 });
      out.on('error', fail);
      if (left === 0) next();
    };
    next();
    // (time, bytes so far) samples; the first is the newest one at least a window old.
    const samples: Array<[number, number]> = [[started, 0]];
    const rateCheck =
      minRate.bytesPerSecond > 0
        ? setInterval(() => {
            const now = Date.now();
            samples.push([now, bytes]);
            while (samples.length > 1 && samples[1][0] <= now - minRate.graceMs) samples.shift();
            const [since, before] = samples[0];
            if (now - started >= minRate.graceMs && ((bytes - before) * 1000) / Math.max(1, now - since) < minRate.bytesPerSecond) {
              out?.destroy();
              req.pause();
              settle('too-slow');
            }
          }, Math.min(1000, Math.max(50, minRate.graceMs / 4)))
        : undefined;
    rateCheck?.unref();
    const settle = (v: Upload | Error): void => {
      if (settled) return;
      settled = true;
      if (rateCheck) clearInterval(rateCheck);
      if (v instanceof Error) ko(v);
      else ok(v);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // a refused upload drains until the connection closes
      bytes += chunk.length;
      if (bytes > max || !out) {
        out?.destroy();
        req.resume();
        settle('too-large');
        return;
      }
      let rest = chunk;
      while (rest.length > 0 && out) {
        const piece = rest.length <= left ? rest : rest.subarray(0, left);
        rest = rest.subarray(piece.length);
        left -= piece.length;
        hash.update(piece);
        const target: WriteStream = out;
        if (!target.write(piece)) {
          req.pause();
          target.once('drain', () => req.resume());
        }
        if (left === 0) next();
      }
      if (rest.length > 0) {
        req.resume();
        settle('too-large'); // more than the parts the request announced
      }
    });
    req.on('end', () => {
      if (settled) return;
      if (index < parts.length && parts[index].bytes === undefined) next(); // the open-ended part ends with the body
      if (index < parts.length) return settle(new ShortBodyError());
      Promise.all(written).then(() => settle({ bytes, sha256: hashes }), fail);
    });
    req.on('close', () => {
      if (!req.complete) {
        out?.destroy();
        settle('aborted');
      }
    });
    req.on('error', () => undefined); // 'close' follows
    // A connection torn down under a request (e.g. Node answered garbage after the declared body with
    // its own 400) may emit neither 'end' nor 'close' on the request: the upload is over all the same.
    const gone = (): void => {
      if (settled) return;
      out?.destroy();
      settle('aborted');
    };
    if (req.socket.destroyed) gone();
    else req.socket.once('close', gone);
  });
}

/** The body ended before every part the request announced (Node holds a body to its Content-Length: not expected). */
class ShortBodyError extends Error {}

function tooLarge(req: IncomingMessage, res: ServerResponse, max: number, declared?: number): void {
  const what = declared !== undefined ? `the upload is ${declared} bytes` : 'the upload is larger than that';
  refuseRest(req, res, 413, `upload limit is ${max} bytes (--max-upload-bytes); ${what}`);
}

/** Answers `status` with the reason while the client may still be sending, then stops reading. */
function refuseRest(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  json(res, status, { error }, { connection: 'close' });
  // Let the answer reach the client, then stop reading what it still sends.
  const timer = setTimeout(() => req.socket.destroy(), 2000);
  timer.unref();
  req.socket.once('close', () => clearTimeout(timer));
}

/** `Connection: close` on the answer, and the socket closed once it is sent, whatever the client still sends. */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  res.once('finish', () => {
    const timer = setTimeout(() => req.socket.destroy(), 200);
    timer.unref();
    req.socket.once('close', () => clearTimeout(timer));
    req.socket.end();
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store', ...headers });
  res.end(data);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const UPLOAD_DIR = new RegExp(`^${OWNER_PATTERN}\\.[0-9a-f]{8}$`);

/** Where a job records the process group its trtexec runs in (lib/system/process-group.ts). */
const TRTEXEC_GROUP_FILE = 'trtexec.group';

/**
 * Upload directories of builder processes that are gone (a dead pid of this host, boot and PID
 * namespace; elsewhere, a heartbeat that stopped), and the trtexec process groups their jobs left
 * running (a SIGKILLed builder cannot end them, issue 13.7): only where the recorded pid is one this
 * process sees (issue 22, N5).
 */
async function removeDeadUploads(dir: string, log: (line: string) => void): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = UPLOAD_DIR.exec(name);
    if (!m) continue;
    const owner = ownerOfMatch(m);
    const beat = (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs;
    if (beat === undefined || !ownerGone(owner, beat)) continue;
    if (seesPid(owner)) {
      for (const job of await readdir(join(dir, name)).catch(() => [] as string[])) {
        if (await killRecordedGroup(join(dir, name, job, TRTEXEC_GROUP_FILE))) {
          log(`nx-triton builder: ended the trtexec left running by builder pid ${owner.pid} (job ${job})`);
        }
      }
    }
    await rm(join(dir, name), { recursive: true, force: true });
  }
}

