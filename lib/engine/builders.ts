import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { externalDataProblem, uniqueExternalData } from '../onnx/external-data';
import { packageVersion } from '../system/package-root';
import { UserError } from '../errors';
import { onnxFileIn, PLAN_FILE, planFileForTarget } from '../layout';
import { buildEngine, prepareEngine, trtexecCommand, type BuildEngineOptions, type PreparedEngine } from './build-engine';
import { formatFingerprint, readFingerprint, tensorRtVersionText, type Fingerprint, type GpuInfo } from './fingerprint';
import { onnxDigest, type EngineKeyParts } from './key';
import { publishPlans, type PlanToPublish } from './publish';
import { EngineStore, resolveMaxBytes, resolveStoreDir, type StoreResult } from './store';
import { planReleaseMismatch } from '../releases/triton';
import { TOKEN_ENV, tokenRefusal } from './remote/auth';
import {
  BuilderError,
  describeBuilder,
  probeBuilder,
  readRememberedFingerprint,
  rememberFingerprint,
  requestPlan,
  type BuilderInfo,
  type RememberedFingerprint,
  type RetryOptions,
} from './remote/client';
import { toBuildRequest } from './remote/protocol';


export interface BuildEnginesOptions extends BuildEngineOptions {
  /** Retries and backoff of builder requests. */
  retry?: RetryOptions;
}

export interface BuiltPlan {
  /** The compute capability it was built for; undefined without `tensorrt.targets`. */
  target?: string;
  /** File name in the engine dir. */
  file: string;
  key: string;
  parts: EngineKeyParts;
  /** true when no build ran anywhere for it this time (local engine store). */
  hit: boolean;
  /** `local` or the builder's URL. */
  via: string;
}

type UsableFingerprint = Fingerprint & { gpu: GpuInfo; tensorrt: Exclude<Fingerprint['tensorrt'], 'no-tensorrt'> };

/**
 * One place that can make plans, with the fingerprint it builds with:
 *   - `local`: this machine's trtexec;
 *   - `remote`: a builder that answered (`nx-triton builder`);
 *   - `remembered`: an unreachable builder's last fetched fingerprint: it serves only plans the
 *     local engine store already holds, and never sends a build.
 */
export interface EngineBuilder {
  kind: 'local' | 'remote' | 'remembered';
  via: string;
  fingerprint: UsableFingerprint;
  info?: BuilderInfo;
  remembered?: RememberedFingerprint;
}

/** The work of one target: the builders that may make its plan, in the order they are tried. */
interface Work {
  target?: string;
  file: string;
  candidates: EngineBuilder[];
}

/** Everything one engine target run shares. */
interface Run {
  o: BuildEnginesOptions;
  store: EngineStore;
  onnxFile: string;
  onnxSize: number;
  /** The ONNX's external-data files, each once (sent after it to a builder). */
  files: ExternalFile[];
  token?: string;
  /** The ONNX digest, hashed once when first needed. */
  digest(): Promise<EngineKeyParts['onnx']>;
  /** One prepared engine (key, store access) per builder and log label: its key depends on the builder's fingerprint only. */
  prepared: Map<string, Promise<PreparedEngine>>;
  /** One local trtexec at a time: parallel builds would skew each other's timings. */
  localTurn: Promise<unknown>;
}

/**
 * The engine target: without `tensorrt.targets` and `tensorrt.builders`, the local build of
 * buildEngine; otherwise one plan per target (or one for the first that serves), each from this
 * machine or a builder whose GPU matches, all kept in the local engine store. Every target is
 * matched to a builder before anything is built; the engine dir changes only when all succeeded.
 */
export async function buildEngines(o: BuildEnginesOptions): Promise<BuiltPlan[]> {
  const { targets, builders } = o.request;
  if (targets.length === 0 && builders.length === 0) {
    const r = await buildEngine(o);
    return [{ file: PLAN_FILE, key: r.key, parts: r.parts, hit: r.hit, via: 'local' }];
  }
  const request = o.request;
  const env = o.env ?? process.env;
  const onnxFile = onnxFileIn(o.onnxPath);
  const onnxSize = (await stat(onnxFile).catch(() => undefined))?.size;
  if (onnxSize === undefined) throw new UserError(`${request.file}: ONNX model for ${request.model} not found at ${onnxFile} (run its export first)`);
  const store = new EngineStore(resolveStoreDir({ engineCache: o.engineCache, workspaceRoot: o.workspaceRoot, env }), { maxBytes: resolveMaxBytes({ env }), log: o.log });
  const token = env[TOKEN_ENV]?.trim() || undefined;

  const files = await externalFiles(request.file, onnxFile, o.externalData ?? []);
  const found = await discoverBuilders(o, store, { onnxSize, files }, token);
  const work = planWork(o, found.builders);
  let digest: Promise<EngineKeyParts['onnx']> | undefined;
  const run: Run = {
    o,
    store,
    onnxFile,
    onnxSize,
    files,
    token,
    digest: () => (digest ??= onnxDigest(onnxFile, o.externalData ?? [], store.hashCacheDir)),
    prepared: new Map(),
    localTurn: Promise.resolve(),
  };
  await dropRememberedMisses(run, work, found);

  const results = await Promise.allSettled(work.map((w) => buildTarget(run, w)));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failed.length > 0) {
    const other = failed.find((e) => !(e instanceof UserError));
    if (other) throw other;
    throw new UserError(failed.map((e) => (e as Error).message).join('\n'));
  }
  const done = results.map((r) => (r as PromiseFulfilledResult<{ built: BuiltPlan; got: StoreResult }>).value);
  await publishPlans(o.outDir, done.map(({ built, got }): PlanToPublish => ({ ...built, got })), targets.length > 0);
  return done.map((d) => d.built);
}

interface Discovered {
  builders: EngineBuilder[];
  /** Why each builder that is out is out (for the error that names what each offered). */
  refused: string[];
  local: Fingerprint;
}

/** This machine and every `tensorrt.builders` URL, probed at once; each one usable becomes an EngineBuilder. */
async function discoverBuilders(o: BuildEnginesOptions, store: EngineStore, upload: { onnxSize: number; files: ExternalFile[] }, token: string | undefined): Promise<Discovered> {
  const request = o.request;
  const env = o.env ?? process.env;
  const external = upload.files.map((f) => f.location);
  const uploadBytes = upload.onnxSize + upload.files.reduce((n, f) => n + f.bytes, 0);
  const [local, remotes] = await Promise.all([
    readFingerprint({ trtexec: trtexecCommand(o), env }),
    Promise.all(
      request.builders.map(async (url) => {
        const refusal = token === undefined ? undefined : tokenRefusal(url, env);
        if (refusal) return { b: { url, error: refusal } as BuilderInfo, remembered: undefined };
        const b = await probeBuilder(url, { token, retry: o.retry });
        if (b.fingerprint) await rememberFingerprint(store.root, url, b.fingerprint);
        return { b, remembered: b.unreachable ? await readRememberedFingerprint(store.root, url) : undefined };
      }),
    ),
  ]);
  const refused: string[] = [];
  const tritonRelease = request.tritonRelease ?? o.tritonRelease;
  // With a Triton release set, a machine whose TensorRT does not match it is never chosen.
  const servesRelease = (via: string, fp: UsableFingerprint): boolean => {
    const problem = tritonRelease === undefined ? undefined : planReleaseMismatch(tensorRtVersionText(fp.tensorrt), tritonRelease, request.versionCompatible);
    if (problem) refused.push(`${via === 'local' ? 'this machine' : via}: TensorRT ${tensorRtVersionText(fp.tensorrt)}, but ${problem.replace(/; this one is .*$/, '')}`);
    return problem === undefined;
  };
  const builders: EngineBuilder[] = [];
  const localOk = usable(local);
  if (localOk && servesRelease('local', localOk)) builders.push({ kind: 'local', via: 'local', fingerprint: localOk });
  for (const { b, remembered } of remotes) {
    const fp = b.fingerprint && usable(b.fingerprint);
    const old = remembered && usable(remembered.fingerprint);
    if (old) {
      if (servesRelease(b.url, old)) builders.push({ kind: 'remembered', via: b.url, fingerprint: old, info: b, remembered });
    } else if (!fp) refused.push(describeBuilder(fp === undefined && b.fingerprint ? { ...b, fingerprint: undefined, error: 'no GPU or no TensorRT' } : b));
    else if (external.length > 0 && !b.takesExternalData) {
      // A builder from before external data (protocol 1 without `external_data`): it would refuse the model.
      refused.push(
        `${b.url}: this builder (nx-triton ${b.version ?? 'from before external-data builds'}) takes single-file ONNX models only; this one has external data (${external.join(', ')}): ` +
          `update nx-triton on the builder to ${packageVersion()} (this client's) or later`,
      );
    } else if (b.maxUploadBytes !== undefined && uploadBytes > b.maxUploadBytes) {
      refused.push(`${b.url}: accepts uploads up to ${b.maxUploadBytes} bytes; the ONNX${external.length ? ' and its external data' : ''} ${external.length ? 'are' : 'is'} ${uploadBytes}`);
    }
    else if (servesRelease(b.url, fp)) builders.push({ kind: 'remote', via: b.url, fingerprint: fp, info: b });
  }
  return { builders, refused, local };
}

/** targets × builders: who may build each target (exact compute capability first; with ampere+ any GPU from 8.0). */
function planWork(o: BuildEnginesOptions, builders: EngineBuilder[]): Work[] {
  const { targets, hardwareCompatibility: hwc, file: specFile } = o.request;
  const names = new Map<string, string>();
  for (const t of targets) {
    const file = planFileForTarget(t);
    if (names.has(file)) throw new UserError(`${specFile}: tensorrt.targets: ${names.get(file)} and ${t} would both be written as ${file}`);
    names.set(file, t);
    if (hwc === 'ampere+' && ccNumber(t) < 8) throw new UserError(`${specFile}: tensorrt.targets: ${t}: an ampere+ plan runs on compute capability 8.0 and newer`);
  }
  if (targets.length === 0) return [{ file: PLAN_FILE, candidates: builders }];
  return targets.map((target) => {
    const exact = builders.filter((b) => b.fingerprint.gpu.computeCapability === target);
    const rest = hwc !== 'ampere+' ? [] : builders.filter((b) => !exact.includes(b) && /^\d+\.\d+$/.test(b.fingerprint.gpu.computeCapability) && ccNumber(b.fingerprint.gpu.computeCapability) >= 8);
    return { target, file: planFileForTarget(target), candidates: [...exact, ...rest] };
  });
}

/**
 * A remembered fingerprint serves a target only when its plan is already in the local store:
 * others leave the candidates. Then every target needs a candidate, or nothing is built.
 */
async function dropRememberedMisses(run: Run, work: Work[], found: Discovered): Promise<void> {
  const { o } = run;
  const misses = new Map<EngineBuilder, string>();
  for (const b of found.builders.filter((x) => x.kind === 'remembered' && work.some((w) => w.candidates.includes(x)))) {
    const prepared = await prepared$(run, b);
    if (!(await prepared.lookup())) misses.set(b, prepared.key);
  }
  for (const w of work) w.candidates = w.candidates.filter((b) => !misses.has(b));
  const unserved = work.filter((w) => w.candidates.length === 0);
  if (unserved.length === 0) return;
  const { targets, builders, hardwareCompatibility: hwc } = o.request;
  const remembered = (b: EngineBuilder): string => {
    const when = `its fingerprint remembered from ${b.remembered!.seen_at} (${formatFingerprint(b.remembered!.fingerprint)})`;
    const miss = misses.has(b) ? ` has no plan in the local engine store for this engine (${misses.get(b)!.slice(0, 12)})` : '';
    return `${describeBuilder(b.info!)}; ${when}${miss}`;
  };
  const offers = [
    ...found.builders.filter((b) => b.kind !== 'local').map((b) => (b.kind === 'remembered' ? remembered(b) : describeBuilder(b.info!))),
    ...found.refused,
    `this machine: ${usable(found.local) ? formatFingerprint(found.local) : found.local.gpu === 'no-gpu' ? 'no GPU' : 'no TensorRT (trtexec)'}`,
  ];
  const what = targets.length
    ? `no builder serves compute capability ${unserved.map((w) => w.target).join(', ')}${hwc === 'ampere+' ? ' (ampere+: any GPU with cc >= 8.0)' : ''}`
    : 'no builder can build it';
  throw new UserError(
    `${o.request.file}: tensorrt.${targets.length ? 'targets' : 'builders'}: ${what}. Builders: ${builders.join(', ') || 'none'}. Offered: ${offers.join('; ')}`,
  );
}

/** The builder's prepared engine, made once per run and label: its key, and the store access that builds through it. */
function prepared$(run: Run, b: EngineBuilder, label?: string): Promise<PreparedEngine> {
  const id = `${b.via}\n${label ?? ''}`;
  let p = run.prepared.get(id);
  if (!p) {
    const { o } = run;
    const log = builderLog(o, b, label);
    p = run.digest().then(async (digest) =>
      prepareEngine({
        ...o,
        fingerprint: b.fingerprint,
        onnxDigest: digest,
        log,
        // A remote builder makes the plan; the local one runs trtexec; a remembered one is only looked up.
        buildPlan: b.kind === 'remote' ? (tmpPlan, expected) => sendBuild(run, b, tmpPlan, expected, digest.sha256, log) : undefined,
      }),
    );
    run.prepared.set(id, p);
  }
  return p;
}

function builderLog(o: BuildEnginesOptions, b: EngineBuilder, label?: string): (line: string) => void {
  if (b.kind === 'local') return o.log;
  const prefix = `[builder ${b.via}${b.kind === 'remembered' ? ' (remembered)' : ''}${label ? ` ${label}` : ''}]`;
  return (line) => o.log(`${prefix} ${line}`);
}

async function sendBuild(
  run: Run,
  b: EngineBuilder,
  tmpPlan: string,
  expected: { key: string; parts: EngineKeyParts },
  onnxSha256: string,
  log: (l: string) => void,
): Promise<{ command: string[] }> {
  const { files } = run;
  const dataBytes = files.reduce((n, f) => n + f.bytes, 0);
  log(`sending ${run.onnxSize} bytes of ONNX${files.length ? ` and ${dataBytes} bytes of external data (${files.length} file${files.length === 1 ? '' : 's'})` : ''} for engine ${expected.key.slice(0, 12)}`);
  const started = Date.now();
  const digest = await run.digest();
  const external = files.length
    ? { onnxBytes: run.onnxSize, files: files.map((f) => ({ location: f.location, bytes: f.bytes, sha256: digest.external_data[f.location] })) }
    : undefined;
  const request = toBuildRequest(run.o.request, onnxSha256, run.o.request.tritonRelease ?? run.o.tritonRelease, external);
  const r = await requestPlan(b.via, {
    token: run.token,
    retry: run.o.retry,
    onnxFile: run.onnxFile,
    onnxBytes: run.onnxSize,
    externalFiles: files.map((f) => f.path),
    request,
    planPath: tmpPlan,
    expected,
    onLog: log,
  });
  log(`${r.hit ? "from the builder's engine store" : 'built'}: ${r.manifest.plan.size} bytes in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return { command: r.manifest.command };
}

/** One target's plan from the first candidate that makes it; a builder's transport failure moves on to the next. */
async function buildTarget(run: Run, w: Work): Promise<{ built: BuiltPlan; got: StoreResult }> {
  const { o } = run;
  const { model, file } = o.request;
  const label = `${model}${w.target ? ` sm${w.target.replace('.', '')}` : ''}`;
  const failures: string[] = [];
  for (const b of w.candidates) {
    try {
      const got = await buildOne(run, b, label);
      const prepared = await prepared$(run, b, b.kind === 'remembered' ? undefined : label);
      return { got, built: { target: w.target, file: w.file, key: prepared.key, parts: prepared.parts, hit: got.hit, via: b.via } };
    } catch (err) {
      if (!(err instanceof BuilderError || err instanceof UserError)) throw err;
      failures.push(b.kind === 'local' ? err.message : `builder ${b.via}: ${err.message}`);
      if (b.kind !== 'local' && err instanceof BuilderError) continue; // another builder may serve it
      break;
    }
  }
  throw new UserError(`${file}: engine ${model}${w.target ? ` for compute capability ${w.target}` : ''} failed: ${failures.join('; ')}`);
}

/** The plan of one builder, through the local engine store: looked up, or built there (local) or sent (remote). */
async function buildOne(run: Run, b: EngineBuilder, label: string): Promise<StoreResult> {
  const { o } = run;
  const prepared = await prepared$(run, b, b.kind === 'remembered' ? undefined : label);
  if (b.kind === 'remembered') {
    const got = await prepared.lookup();
    if (!got) throw new BuilderError(`unreachable (${b.info?.error}); the plan its remembered fingerprint gave left the local engine store meanwhile`);
    o.log(
      `engine ${label}: builder ${b.via} is unreachable (${b.info?.error}); used its fingerprint remembered from ${b.remembered!.seen_at}: ` +
        `from the local engine store (${prepared.key.slice(0, 12)}), nothing built`,
    );
    return got;
  }
  const get = async (): Promise<StoreResult> => {
    const got = await prepared.get();
    if (got.hit) o.log(`engine ${label}: from the local engine store (${prepared.key.slice(0, 12)}), nothing built`);
    return got;
  };
  if (b.kind === 'remote') return get();
  const turn = run.localTurn.then(get);
  run.localTurn = turn.catch(() => undefined);
  return turn;
}

/** One external-data file of the ONNX: its location (one spelling), where it is, its size. */
interface ExternalFile {
  location: string;
  path: string;
  bytes: number;
}

/** The ONNX's external-data files, each once, checked as the engine key checks them (lib/onnx/external-data.ts). */
async function externalFiles(specFile: string, onnxFile: string, locations: string[]): Promise<ExternalFile[]> {
  const out: ExternalFile[] = [];
  for (const location of uniqueExternalData(locations)) {
    const problem = externalDataProblem(location);
    if (problem) throw new UserError(`${specFile}: ${onnxFile}: external data location ${JSON.stringify(location)} cannot be used: ${problem}`);
    const path = join(dirname(onnxFile), location);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new UserError(`${specFile}: ${onnxFile}: external data file ${JSON.stringify(location)} is missing`);
    out.push({ location, path, bytes: st.size });
  }
  return out;
}

function usable(fp: Fingerprint): UsableFingerprint | undefined {
  if (fp.gpu === 'no-gpu' || fp.tensorrt === 'no-tensorrt') return undefined;
  return fp as UsableFingerprint;
}

function ccNumber(cc: string): number {
  const [major, minor] = cc.split('.').map(Number);
  return major + minor / 1000;
}
