/**
 * The remote engine builder's wire protocol (version 1). HTTP/1.1, JSON only: nothing a client
 * sends is executed or deserialised as code, and no file name is taken from a request.
 *
 *   GET  /healthz          -> 200 `ok` (no auth: for load balancers and systemd checks)
 *   GET  /v1/fingerprint   -> 200 `FingerprintReply`
 *   POST /v1/engines       -> the ONNX file as the raw body (`Content-Type: application/octet-stream`,
 *                             Content-Length or chunked), the build as base64url(JSON `BuildRequest`)
 *                             in the `X-Nx-Triton-Build` header (at most MAX_BUILD_HEADER_BYTES).
 *                             With external data (issue 19, item 14): the body is the ONNX file
 *                             (`onnx_bytes`) followed by each external-data file in the order of
 *                             `external_data`, whose entries give each file's location, size and sha256;
 *                             only a builder whose fingerprint says `external_data: true` takes them.
 *
 * Every /v1 request carries `Authorization: Bearer <token>` (401 without a valid one).
 * Before the body is accepted: 400 bad build request, 413 body above the builder's upload limit
 * (also when counted while streaming), 503 + Retry-After when the build queue is full.
 * After the upload was received and its sha256 matched `onnx_sha256`, the reply is 200
 * `application/x-ndjson`: one `BuildEvent` per line, ending with either an `error` event or a
 * `done` event that is followed by exactly `plan_bytes` raw bytes of the plan, then the end of the
 * response. A reply that ends any other way is a failed build.
 *
 * Versions: `protocol` stays 1, so builders and clients from before external data keep working with
 * each other and with these for single-file models. A model with external data goes only to a
 * builder whose fingerprint says `external_data: true` (the client names the builder's nx-triton
 * version otherwise), and a builder refuses an ONNX with external data sent without its files (400,
 * naming the client's side to update). The builder takes the files' locations from the ONNX alone:
 * the request's list must be exactly the model's own external-data locations, each path-checked
 * (lib/onnx/external-data.ts), and the files land in the job's directory, never elsewhere.
 */
import type { EngineKeyParts } from '../key';
import type { Fingerprint } from '../fingerprint';
import { engineRequestFrom } from '../../model-spec/engine-request';
import { checkRemoteTensorRt, type RemoteTensorRtSpec } from '../../model-spec/tensorrt';
import type { EngineRequest } from '../../model-spec/types';
import { tritonReleaseProblem } from '../../releases/triton';
import { ONNX_FILE } from '../../layout';
import { externalDataProblem, normalExternalData } from '../../onnx/external-data';

export const PROTOCOL_VERSION = 1;
export const BUILD_HEADER = 'x-nx-triton-build';
/** Decoded size limit of the build header: about 900 inputs. base64 grows it by 4/3. */
export const MAX_BUILD_HEADER_BYTES = 48 * 1024;
/**
 * The builder's limit on all request headers (Node's default is 16 KiB, which the base64 of a
 * request with ~120 inputs already passed, answering 431): the build header at its largest plus room.
 */
export const MAX_REQUEST_HEADER_BYTES = Math.ceil((MAX_BUILD_HEADER_BYTES * 4) / 3) + 16 * 1024;
/** Longest event line a client accepts; log lines are cut well below it. */
export const MAX_EVENT_LINE_BYTES = 1024 * 1024;
export const MAX_LOG_LINE_CHARS = 4096;

export interface FingerprintReply {
  protocol: number;
  fingerprint: Fingerprint;
  /** The most the body of a build may be: the ONNX and its external data together. */
  max_upload_bytes: number;
  /** true: takes ONNX models with external data (`BuildRequest.external_data`); absent from older builders. */
  external_data?: boolean;
  /** The builder's nx-triton version (absent from older builders). */
  nx_triton?: string;
}

/** One external-data file of a build: where the ONNX says it is, its size and sha256. */
export interface ExternalDataFile {
  location: string;
  bytes: number;
  sha256: string;
}

/** The most external-data files one build may carry (ONNX's one-file-per-tensor form of a large model). */
export const MAX_EXTERNAL_FILES = 4096;

export type RemoteInput = {
  name: string;
  dims: number[];
  reshape?: { shape: number[] };
};

export interface BuildRequest {
  /** sha256 (hex) of the body; the builder refuses an upload that does not match. */
  onnx_sha256: string;
  /** The model name, for log lines only. */
  model: string;
  max_batch_size: number;
  /** The default profile's opt batch (the largest preferred batch size). */
  opt_batch_size?: number;
  inputs: RemoteInput[];
  tensorrt: RemoteTensorRtSpec;
  /** The Triton release that serves the plan: the builder refuses a TensorRT that does not match it. */
  triton_release?: string;
  /** With external data: the ONNX's size, the first part of the body. */
  onnx_bytes?: number;
  /** The external-data files that follow the ONNX in the body, each once, in this order. */
  external_data?: ExternalDataFile[];
}

/** Bytes of the body a request announces: the ONNX and its external data (undefined for a single-file request, which may be chunked). */
export function declaredBodyBytes(r: BuildRequest): number | undefined {
  if (r.onnx_bytes === undefined) return undefined;
  return r.onnx_bytes + (r.external_data ?? []).reduce((n, f) => n + f.bytes, 0);
}

export interface PlanManifest {
  key: string;
  parts: EngineKeyParts;
  plan: { size: number; sha256: string };
  command: string[];
}

export type BuildEvent =
  | { event: 'accepted'; onnx_bytes: number }
  | { event: 'queued'; position: number }
  | { event: 'started' }
  | { event: 'heartbeat' }
  | { event: 'log'; line: string }
  | { event: 'done'; hit: boolean; manifest: PlanManifest; plan_bytes: number }
  | { event: 'error'; message: string };

export class ProtocolError extends Error {}

export function encodeBuildRequest(r: BuildRequest): string {
  return Buffer.from(JSON.stringify(r), 'utf8').toString('base64url');
}

/** The build request of a header value, checked against the allow-list; throws ProtocolError. */
export function decodeBuildRequest(header: string | string[] | undefined): BuildRequest {
  if (typeof header !== 'string' || header === '') throw new ProtocolError(`missing ${BUILD_HEADER} header`);
  if (!/^[A-Za-z0-9_-]+$/.test(header)) throw new ProtocolError(`${BUILD_HEADER}: expected base64url`);
  const text = Buffer.from(header, 'base64url');
  if (text.length > MAX_BUILD_HEADER_BYTES) throw new ProtocolError(`${BUILD_HEADER}: more than ${MAX_BUILD_HEADER_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text.toString('utf8'));
  } catch {
    throw new ProtocolError(`${BUILD_HEADER}: not JSON`);
  }
  return checkBuildRequest(value);
}

const fail = (path: string, msg: string): never => {
  throw new ProtocolError(`${path}: ${msg}`);
};

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(path ? `${path}.${k}` : k, 'not accepted by a builder');
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `expected an integer from ${min} to ${max}`);
  return v as number;
}

function dimList(v: unknown, path: string): number[] {
  if (!Array.isArray(v) || v.length > 32) fail(path, 'expected a list of at most 32 dims');
  return (v as unknown[]).map((d, i) => int(d, `${path}[${i}]`, -1, 2 ** 31 - 1));
}

/** Printable text without control characters (it ends up in trtexec's argv and in log lines). */
function text(v: unknown, path: string, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
    fail(path, `expected 1 to ${max} printable characters`);
  }
  return v as string;
}

/** Structure, types and sizes, and the tensorrt options as triton.yaml's are checked; throws ProtocolError. */
export function checkBuildRequest(value: unknown): BuildRequest {
  if (!isMap(value)) return fail('request', 'expected a JSON object');
  onlyKeys(value, '', ['onnx_sha256', 'model', 'max_batch_size', 'opt_batch_size', 'inputs', 'tensorrt', 'triton_release', 'onnx_bytes', 'external_data']);
  if (value.triton_release !== undefined) {
    const problem = typeof value.triton_release === 'string' ? tritonReleaseProblem(value.triton_release) : 'expected a string';
    if (problem) fail('triton_release', problem);
  }
  if (typeof value.onnx_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.onnx_sha256)) fail('onnx_sha256', 'expected 64 lower-case hex digits');
  const model = text(value.model, 'model', 128);
  const maxBatch = int(value.max_batch_size, 'max_batch_size', 0, 2 ** 31 - 1);
  const opt = value.opt_batch_size === undefined ? undefined : int(value.opt_batch_size, 'opt_batch_size', 1, Math.max(1, maxBatch));
  if (!Array.isArray(value.inputs) || value.inputs.length === 0 || value.inputs.length > 1024) fail('inputs', 'expected 1 to 1024 inputs');
  const inputs = (value.inputs as unknown[]).map((t, i): RemoteInput => {
    const path = `inputs[${i}]`;
    if (!isMap(t)) return fail(path, 'expected { name, dims, reshape? }');
    onlyKeys(t, path, ['name', 'dims', 'reshape']);
    const name = text(t.name, `${path}.name`, 256);
    const dims = dimList(t.dims, `${path}.dims`);
    if (t.reshape === undefined) return { name, dims };
    if (!isMap(t.reshape)) return fail(`${path}.reshape`, 'expected { shape }');
    onlyKeys(t.reshape, `${path}.reshape`, ['shape']);
    return { name, dims, reshape: { shape: dimList(t.reshape.shape, `${path}.reshape.shape`) } };
  });
  const onnxBytes = value.onnx_bytes === undefined ? undefined : int(value.onnx_bytes, 'onnx_bytes', 1, Number.MAX_SAFE_INTEGER);
  const external = value.external_data === undefined ? undefined : externalDataList(value.external_data);
  if (external !== undefined && onnxBytes === undefined) fail('onnx_bytes', 'required with external_data (where the ONNX ends in the body)');
  if (!isMap(value.tensorrt)) return fail('tensorrt', 'expected an object');
  // The options are checked by the same table as triton.yaml's tensorrt: (TENSORRT_KEYS, lib/model-spec/tensorrt.ts).
  const trt = checkRemoteTensorRt(value.tensorrt);
  if ('problems' in trt) throw new ProtocolError(trt.problems.join('; '));
  return {
    onnx_sha256: value.onnx_sha256 as string,
    model,
    max_batch_size: maxBatch,
    ...(opt !== undefined ? { opt_batch_size: opt } : {}),
    inputs,
    tensorrt: trt.options,
    ...(value.triton_release !== undefined ? { triton_release: value.triton_release as string } : {}),
    ...(onnxBytes !== undefined ? { onnx_bytes: onnxBytes } : {}),
    ...(external !== undefined ? { external_data: external } : {}),
  };
}

/**
 * `external_data`: at most MAX_EXTERNAL_FILES entries `{ location, bytes, sha256 }`, each location one
 * an ONNX may name (relative, no `..`, not the model file itself) in its one spelling, each once.
 */
function externalDataList(v: unknown): ExternalDataFile[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_EXTERNAL_FILES) fail('external_data', `expected 1 to ${MAX_EXTERNAL_FILES} files`);
  const seen = new Set<string>();
  return (v as unknown[]).map((f, i): ExternalDataFile => {
    const path = `external_data[${i}]`;
    if (!isMap(f)) return fail(path, 'expected { location, bytes, sha256 }');
    onlyKeys(f, path, ['location', 'bytes', 'sha256']);
    const location = text(f.location, `${path}.location`, 1024);
    const problem = externalDataProblem(location);
    if (problem) fail(`${path}.location`, `${JSON.stringify(location)} cannot be used: ${problem}`);
    if (normalExternalData(location) !== location) fail(`${path}.location`, `${JSON.stringify(location)} is not in its one spelling (${JSON.stringify(normalExternalData(location))})`);
    if (location === ONNX_FILE) fail(`${path}.location`, `${JSON.stringify(location)} is the model's own file name`);
    if (seen.has(location)) fail(`${path}.location`, `${JSON.stringify(location)} is sent twice`);
    seen.add(location);
    const bytes = int(f.bytes, `${path}.bytes`, 0, Number.MAX_SAFE_INTEGER);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`${path}.sha256`, 'expected 64 lower-case hex digits');
    return { location, bytes, sha256: f.sha256 as string };
  });
}

/** One event as its line. */
export function eventLine(e: BuildEvent): string {
  return JSON.stringify(e) + '\n';
}

/**
 * What a client asks a builder to build: the request's inputs and its remote tensorrt: options, never
 * the local ones; with external data, where the ONNX ends in the body and the files that follow it
 * (a single-file request has neither field, as builders from before external data expect).
 */
export function toBuildRequest(
  r: EngineRequest,
  onnxSha256: string,
  tritonRelease: string | undefined,
  external?: { onnxBytes: number; files: ExternalDataFile[] },
): BuildRequest {
  return {
    onnx_sha256: onnxSha256,
    model: r.model,
    max_batch_size: r.maxBatchSize,
    ...(r.optBatchSize !== undefined ? { opt_batch_size: r.optBatchSize } : {}),
    inputs: r.inputs,
    tensorrt: r.remote,
    ...(tritonRelease !== undefined ? { triton_release: tritonRelease } : {}),
    ...(external && external.files.length > 0 ? { onnx_bytes: external.onnxBytes, external_data: external.files } : {}),
  };
}

/**
 * The EngineRequest a builder builds, made from the checked wire request the way the engine target
 * makes it from triton.yaml: the same table, the same profile resolution, nothing local (no
 * targets, builders or trtexec of the client's). Problems are SpecErrors at `build request for <model>`.
 */
export function fromBuildRequest(r: BuildRequest): EngineRequest {
  return engineRequestFrom({
    file: `build request for ${r.model}`,
    model: r.model,
    positions: {},
    tensorrt: r.tensorrt,
    inputs: r.inputs,
    maxBatchSize: r.max_batch_size,
    ...(r.opt_batch_size !== undefined ? { optBatchSize: r.opt_batch_size } : {}),
    ...(r.triton_release !== undefined ? { tritonRelease: r.triton_release } : {}),
  });
}
