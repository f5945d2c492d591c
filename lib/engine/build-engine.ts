import { createHash } from 'node:crypto';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { isInside } from '../system/copy-tree';
import { UserError } from '../errors';
import { onnxFileIn, PLAN_FILE } from '../layout';
import type { EngineRequest } from '../model-spec/types';
import { readFingerprint, tensorRtVersionText, type Fingerprint, type GpuInfo } from './fingerprint';
import { canonicalJson, engineKey, onnxDigest, type EngineKeyParts } from './key';
import { EngineStore, resolveMaxBytes, resolveStoreDir, type StoreResult } from './store';
import { placed } from '../model-spec/positions';
import { planReleaseMismatch, tensorRtOfTriton } from '../releases/triton';
import { SpecError } from '../errors';
import { publishPlans } from './publish';
import { tensorRtRelease } from '../releases/tensorrt';
import { normalisedOptions, trtexecArgs } from './trtexec-args';
import { forgetGroup, recordGroup } from '../system/process-group';
import { childEnv } from '../system/child-env';

export interface BuildEngineOptions {
  workspaceRoot: string;
  /** What to build: the model's tensorrt: options and profiles (lib/model-spec/engine-request.ts). */
  request: EngineRequest;
  /** The ONNX file, or a `model.onnx/` directory holding `model.onnx` and its external data. */
  onnxPath: string;
  /** External-data locations of the ONNX (relative to it), as its graph names them. */
  externalData?: string[];
  outDir: string;
  /** Plugin option `engineCache`; env NX_TRITON_ENGINE_CACHE wins. */
  engineCache?: string;
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** The machine that builds (a remote builder's fingerprint); default: this machine's, probed. */
  fingerprint?: Fingerprint;
  /** The ONNX digest when already known (e.g. hashed while it was uploaded). */
  onnxDigest?: EngineKeyParts['onnx'];
  /** The nx.json plugin option `tritonRelease`; the request's (the model's `triton_release`) wins. */
  tritonRelease?: string;
  /** The trtexec to run instead of the request's `tensorrt.trtexec` (a builder runs its own). */
  trtexec?: string;
  /** Makes the plan instead of the local trtexec (e.g. a remote builder): writes `tmpPlanPath`. */
  buildPlan?: (tmpPlanPath: string, plan: { key: string; parts: EngineKeyParts }) => Promise<{ command: string[] }>;
  /** When set, trtexec runs in its own process group, recorded in this file while it runs (see process-group.ts). */
  trtexecGroupFile?: string;
}

/** The engine's key and a way to get its plan from the store (building it once when missing). */
export interface PreparedEngine {
  key: string;
  parts: EngineKeyParts;
  fingerprint: Fingerprint;
  store: EngineStore;
  /** The plan from the store, built once when missing. */
  get(): Promise<StoreResult>;
  /** The plan from the store when it holds one; never builds. */
  lookup(): Promise<StoreResult | undefined>;
}

export interface BuildEngineResult {
  key: string;
  parts: EngineKeyParts;
  /** true when no trtexec ran (the plan came from the engine store). */
  hit: boolean;
  planPath: string;
  fingerprint: Fingerprint;
}

const TAIL_LINES = 20;

/** ONNX -> `outDir/model.plan` (+ `engine.json`, the key's parts), through the engine store. */
export async function buildEngine(o: BuildEngineOptions): Promise<BuildEngineResult> {
  const { key, parts, fingerprint, get } = await prepareEngine(o);
  for (let attempt = 1; ; attempt++) {
    const got: StoreResult = await get();
    if (got.hit) o.log(`engine ${o.request.model}: from the engine store (${key.slice(0, 12)}), no trtexec run`);
    try {
      await publishPlans(o.outDir, [{ file: PLAN_FILE, key, parts, got }], false);
      return { key, parts, hit: got.hit, planPath: join(o.outDir, PLAN_FILE), fingerprint };
    } catch (err) {
      // Another process may evict the entry between the lookup and the copy: look it up again.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

/** Checks the inputs, computes the engine key for the building machine, and opens the engine store. */
export async function prepareEngine(o: BuildEngineOptions): Promise<PreparedEngine> {
  const env = o.env ?? process.env;
  const request = o.request;
  const trtexec = trtexecCommand(o);
  const fingerprint = o.fingerprint ?? (await readFingerprint({ trtexec, env }));
  if (fingerprint.tensorrt === 'no-tensorrt') {
    throw new UserError(
      `${request.file}: cannot build the TensorRT engine of ${request.model}: trtexec ("${trtexec}") not found or not answering; ` +
        `put TensorRT's bin directory on PATH or set tensorrt.trtexec`,
    );
  }
  if (fingerprint.gpu === 'no-gpu') {
    throw new UserError(
      `${request.file}: cannot build the TensorRT engine of ${request.model}: no NVIDIA GPU found (nvidia-smi failed); ` +
        `an engine is built on the kind of GPU it will run on`,
    );
  }
  const gpu = fingerprint.gpu;
  const trtVersion = tensorRtVersionText(fingerprint.tensorrt);
  const onnxFile = onnxFileIn(o.onnxPath);
  if (!(await stat(onnxFile).catch(() => undefined))?.isFile()) {
    throw new UserError(`${request.file}: ONNX model for ${request.model} not found at ${onnxFile} (run its export first)`);
  }

  const release = tensorRtRelease(trtVersion);
  const serving = checkServingRelease(o, trtVersion, request.versionCompatible, o.fingerprint ? 'the builder' : 'this machine');
  const argsFor = (planPath: string, timingCachePath?: string): string[] => trtexecArgs(request, release, { onnx: onnxFile, plan: planPath, timingCache: timingCachePath });
  const options = normalisedOptions(argsFor(PLAN_FILE));

  const store = new EngineStore(resolveStoreDir({ engineCache: o.engineCache, workspaceRoot: o.workspaceRoot, env }), {
    maxBytes: resolveMaxBytes({ env }),
    log: o.log,
  });
  const parts: EngineKeyParts = {
    onnx: o.onnxDigest ?? (await onnxDigest(onnxFile, o.externalData ?? [], store.hashCacheDir)),
    tensorrt: trtVersion,
    gpu: gpuPart(gpu, request),
    os: fingerprint.os,
    arch: fingerprint.arch,
    options,
    ...(serving ? { triton_tensorrt: serving } : {}),
  };
  const key = engineKey(parts);
  o.log(`engine ${request.model}: key ${key.slice(0, 12)} (TensorRT ${trtVersion}, ${gpu.name} cc ${gpu.computeCapability}, store ${store.root})`);

  const timingId = createHash('sha256')
    .update(canonicalJson({ trt: trtVersion, gpu: gpu.name, cc: gpu.computeCapability, os: fingerprint.os, arch: fingerprint.arch }))
    .digest('hex')
    .slice(0, 16);
  const build = async (tmpPlan: string): Promise<{ command: string[] }> => {
    if (o.buildPlan) return o.buildPlan(tmpPlan, { key, parts });
    const useTiming = request.timingCache;
    const shared = store.timingCachePath(timingId);
    const timing = `${tmpPlan}.timing`;
    if (useTiming) await copyFile(shared, timing).catch(() => undefined);
    const args = argsFor(tmpPlan, useTiming ? timing : undefined);
    await runTrtexec(trtexec, args, request.model, env, o.log, o.trtexecGroupFile);
    if (useTiming) {
      // Each build works on its own copy; the shared cache is replaced in one rename.
      await mkdir(dirname(shared), { recursive: true });
      await rename(timing, shared).catch(() => undefined);
    }
    return { command: [trtexec, ...normalisedOptions(args)] };
  };

  return { key, parts, fingerprint, store, get: () => store.getOrBuild(key, parts, build), lookup: () => store.get(key, parts) };
}

/**
 * With a Triton release set (`triton_release`, or nx.json `tritonRelease`), the TensorRT that builds
 * must be the one that release ships (or an older one of its major for a version-compatible plan):
 * refused here, before trtexec runs. Returns the release's TensorRT version, for the engine key.
 */
export function checkServingRelease(o: Pick<BuildEngineOptions, 'request' | 'tritonRelease'>, trtVersion: string, versionCompatible: boolean, who = 'this machine'): string | undefined {
  const request = o.request;
  const release = request.tritonRelease ?? o.tritonRelease;
  if (release === undefined) return undefined;
  const problem = planReleaseMismatch(trtVersion, release, versionCompatible);
  if (problem === undefined) return tensorRtOfTriton(release);
  const serves = tensorRtOfTriton(release);
  const fix = serves
    ? `: build with TensorRT ${serves} (e.g. inside nvcr.io/nvidia/tritonserver:${release}-py3, or tensorrt.trtexec pointing at that trtexec), ` +
      `or set the Triton release that really serves the model` +
      (versionCompatible ? '' : `; tensorrt.version_compatible: true lets an older TensorRT ${serves.split('.')[0]}.x build it`)
    : '';
  if (request.tritonRelease !== undefined) {
    throw new SpecError([placed(request, 'triton_release', `${problem}; ${who} has TensorRT ${trtVersion}${fix}`)]);
  }
  throw new SpecError([{ file: request.file, path: '', message: `nx.json plugin option tritonRelease: ${problem}; ${who} has TensorRT ${trtVersion}${fix}` }]);
}

/** `1`: a `tensorrt.trtexec` inside the workspace may run (issue 22, N10). */
export const WORKSPACE_TRTEXEC_ENV = 'NX_TRITON_ALLOW_WORKSPACE_TRTEXEC';

/**
 * The trtexec that builds: the caller's (a builder's own), else the request's `tensorrt.trtexec`, else
 * `trtexec` on PATH. `tensorrt.trtexec` names a program that runs at build time, and a triton.yaml is
 * what a pull request edits: one inside the workspace (a file the same pull request can add) runs only
 * with NX_TRITON_ALLOW_WORKSPACE_TRTEXEC=1 in the environment (issue 22, N10). One outside is a
 * program already installed on the machine, run with trtexec's arguments.
 */
export function trtexecCommand(o: Pick<BuildEngineOptions, 'request' | 'trtexec' | 'workspaceRoot' | 'env'>): string {
  if (o.trtexec !== undefined) return o.trtexec;
  const named = o.request.trtexec;
  if (named === undefined) return 'trtexec';
  const env = o.env ?? process.env;
  const program = named.includes('/') ? named : onPath(named, env.PATH);
  if (env[WORKSPACE_TRTEXEC_ENV] !== '1' && program !== undefined && isInside(realOr(o.workspaceRoot), realOr(resolve(o.workspaceRoot, program)))) {
    throw new SpecError([
      placed(
        o.request,
        'tensorrt.trtexec',
        `${JSON.stringify(relative(o.workspaceRoot, resolve(o.workspaceRoot, program)))} is inside the workspace: a pull request can add or change it, and it would run at build time. ` +
          `Point tensorrt.trtexec at an installed trtexec, or set ${WORKSPACE_TRTEXEC_ENV}=1 where the workspace is trusted`,
      ),
    ]);
  }
  return named;
}

/** The real path of `path`, or `path` itself when it does not exist (yet). */
function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Where a bare command name is found on PATH (the first regular file), or undefined. */
function onPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) return file;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** What of the GPU the key holds: the exact GPU, or only what the hardware-compatibility level ties the plan to. */
export function gpuPart(gpu: GpuInfo, request: EngineRequest): EngineKeyParts['gpu'] {
  const level = request.hardwareCompatibility;
  if (level === 'ampere+') {
    const major = Number(gpu.computeCapability.split('.')[0]);
    if (Number.isFinite(major) && major < 8) {
      throw new UserError(`${request.file}: tensorrt.hardware_compatibility: ampere+ engines are built on Ampere or newer GPUs; this one is ${gpu.name} (cc ${gpu.computeCapability})`);
    }
    return { hardware_compatibility: 'ampere+' };
  }
  if (level === 'same_compute_capability') return { compute_capability: gpu.computeCapability };
  return { name: gpu.name, compute_capability: gpu.computeCapability };
}

async function runTrtexec(trtexec: string, args: string[], model: string, env: NodeJS.ProcessEnv, log: (l: string) => void, groupFile?: string): Promise<void> {
  const { execa } = await import('execa');
  const started = Date.now();
  const prefix = `[trtexec ${model}]`;
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const tail: string[] = [];
  log(`${prefix} ${trtexec} ${args.join(' ')}`);
  const detached = groupFile !== undefined;
  const child = execa(trtexec, args, { env: childEnv({}, env), extendEnv: false, all: true, buffer: false, reject: false, stdin: 'ignore', detached });
  // Its own group: a SIGKILLed parent's successor can end it (and all it started) from the group file.
  const endGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  try {
    if (detached && child.pid !== undefined) {
      process.once('exit', endGroup);
      await recordGroup(groupFile, child.pid);
    }
    for await (const line of child.iterable({ from: 'all' })) {
      const text = String(line);
      tail.push(text);
      if (tail.length > TAIL_LINES) tail.shift();
      log(`${prefix} +${elapsed()} ${text}`);
    }
    await child;
  } finally {
    if (detached) {
      process.off('exit', endGroup);
      await forgetGroup(groupFile);
    }
  }
  const r = await child;
  if (r.failed) {
    const why = r.exitCode !== undefined ? `exit code ${r.exitCode}` : r.code === 'ENOENT' ? 'not found' : r.shortMessage;
    throw new UserError(`trtexec failed (${why}) after ${elapsed()} building the engine of ${model}; its last lines:\n${tail.join('\n')}`);
  }
  log(`${prefix} done in ${elapsed()}`);
}
