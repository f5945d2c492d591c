import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors';
import { buildEngine, prepareEngine, trtexecCommand, type BuildEngineOptions } from '../engine/build-engine';
import { optBatch } from '../spec/tensorrt';
import { formatFingerprint, readFingerprint, tensorRtVersionText, type Fingerprint, type GpuInfo } from '../engine/fingerprint';
import { planReleaseMismatch } from '../triton-release';
import { onnxDigest, type EngineKeyParts } from '../engine/key';
import { EngineStore, resolveMaxBytes, resolveStoreDir, type StoreResult } from '../engine/store';
import { TOKEN_ENV } from './auth';
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
} from './client';
import { planFileForTarget, REMOTE_TENSORRT_KEYS, type BuildRequest } from './protocol';

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

/** One place that can build: this machine or a builder, with the fingerprint it builds with. */
interface Executor {
  via: string;
  fingerprint: Fingerprint & { gpu: GpuInfo; tensorrt: Exclude<Fingerprint['tensorrt'], 'no-tensorrt'> };
  remote?: BuilderInfo;
  /** An unreachable builder's last known fingerprint: it may only serve plans already in the local store. */
  remembered?: RememberedFingerprint;
}

/** What the engine target writes to the engine dir; build-model reads `targets` from it. */
export interface EngineProvenance {
  targets: Record<string, { file: string; key: string; parts: EngineKeyParts; plan: { size: number; sha256: string } }>;
}

export const PROVENANCE_FILE = 'engine.json';
const PLAN_FILE = /^model(_sm\d+)?\.plan$/;

/**
 * The engine target: without `tensorrt.targets` and `tensorrt.builders`, the local build of
 * buildEngine; otherwise one plan per target (or one for the first that serves), each from this
 * machine or a builder whose GPU matches, all kept in the local engine store. Every target is
 * matched to a builder before anything is built; the engine dir changes only when all succeeded.
 * An unreachable builder's last fetched fingerprint (kept in the store) still serves a target whose
 * plan the local store already holds; it never sends a build.
 */
export async function buildEngines(o: BuildEnginesOptions): Promise<BuiltPlan[]> {
  const trt = o.spec.tensorrt ?? {};
  const targets = trt.targets ?? [];
  const builders = trt.builders ?? [];
  if (targets.length === 0 && builders.length === 0) {
    const r = await buildEngine(o);
    await removeStalePlans(o.outDir, ['model.plan']);
    return [{ file: 'model.plan', key: r.key, parts: r.parts, hit: r.hit, via: 'local' }];
  }
  const env = o.env ?? process.env;
  const spec = o.spec;
  const token = env[TOKEN_ENV]?.trim() || undefined;
  const onnxFile = (await stat(o.onnxPath).catch(() => undefined))?.isDirectory() ? join(o.onnxPath, 'model.onnx') : o.onnxPath;
  const onnxSize = (await stat(onnxFile).catch(() => undefined))?.size;
  if (onnxSize === undefined) throw new UserError(`${spec.file}: ONNX model for ${spec.name} not found at ${onnxFile} (run its export first)`);
  const external = o.externalData ?? [];

  const store = new EngineStore(resolveStoreDir({ engineCache: o.engineCache, workspaceRoot: o.workspaceRoot, env }), { maxBytes: resolveMaxBytes({ env }), log: o.log });
  const [local, remotes] = await Promise.all([
    readFingerprint({ trtexec: trtexecCommand(spec), env }),
    Promise.all(
      builders.map(async (url) => {
        const b = await probeBuilder(url, { token, retry: o.retry });
        if (b.fingerprint) await rememberFingerprint(store.root, url, b.fingerprint);
        return { b, remembered: b.unreachable ? await readRememberedFingerprint(store.root, url) : undefined };
      }),
    ),
  ]);
  const tritonRelease = spec.tritonRelease ?? o.tritonRelease;
  const why: string[] = [];
  // With a Triton release set, a machine whose TensorRT does not match it is never chosen.
  const servesRelease = (via: string, fp: Executor['fingerprint']): boolean => {
    const problem = tritonRelease === undefined ? undefined : planReleaseMismatch(tensorRtVersionText(fp.tensorrt), tritonRelease, trt.version_compatible === true);
    if (problem) why.push(`${via === 'local' ? 'this machine' : via}: TensorRT ${tensorRtVersionText(fp.tensorrt)}, but ${problem.replace(/; this one is .*$/, '')}`);
    return problem === undefined;
  };
  const executors: Executor[] = [];
  const localOk = usable(local);
  if (localOk && servesRelease('local', localOk)) executors.push({ via: 'local', fingerprint: localOk });
  for (const { b, remembered } of remotes) {
    const fp = b.fingerprint && usable(b.fingerprint);
    const old = remembered && usable(remembered.fingerprint);
    if (old) {
      if (servesRelease(b.url, old)) executors.push({ via: b.url, fingerprint: old, remote: b, remembered });
    }
    else if (!fp) why.push(describeBuilder(fp === undefined && b.fingerprint ? { ...b, fingerprint: undefined, error: 'no GPU or no TensorRT' } : b));
    else if (external.length > 0) why.push(`${b.url}: takes single-file ONNX models only; this one has external data (${external.join(', ')})`);
    else if (b.maxUploadBytes !== undefined && onnxSize > b.maxUploadBytes) why.push(`${b.url}: accepts uploads up to ${b.maxUploadBytes} bytes; the ONNX is ${onnxSize}`);
    else if (servesRelease(b.url, fp)) executors.push({ via: b.url, fingerprint: fp, remote: b });
  }

  const hwc = trt.hardware_compatibility;
  const wanted: Array<string | undefined> = targets.length ? targets : [undefined];
  const names = new Map<string, string>();
  for (const t of targets) {
    const file = planFileForTarget(t);
    if (names.has(file)) throw new UserError(`${spec.file}: tensorrt.targets: ${names.get(file)} and ${t} would both be written as ${file}`);
    names.set(file, t);
    if (hwc === 'ampere+' && ccNumber(t) < 8) throw new UserError(`${spec.file}: tensorrt.targets: ${t}: an ampere+ plan runs on compute capability 8.0 and newer`);
  }
  let digestOnce: Promise<EngineKeyParts['onnx']> | undefined;
  const digestOf = (): Promise<EngineKeyParts['onnx']> => (digestOnce ??= onnxDigest(onnxFile, external, store.hashCacheDir));

  const plan = wanted.map((target) => ({ target, candidates: candidatesFor(executors, target, hwc) }));
  // A remembered fingerprint serves a target only when its plan is already in the local store.
  const stored = new Map<Executor, StoredLookup>();
  for (const ex of executors.filter((e) => e.remembered && plan.some((p) => p.candidates.includes(e)))) {
    stored.set(ex, await lookUpStored(o, ex, await digestOf(), store));
  }
  for (const p of plan) p.candidates = p.candidates.filter((e) => !e.remembered || stored.get(e)?.hit);
  const unserved = plan.filter((p) => p.candidates.length === 0);
  if (unserved.length > 0) {
    const offers = [
      ...executors.filter((e) => e.remote).map((e) => (e.remembered ? describeRemembered(e, stored.get(e)) : describeBuilder(e.remote!))),
      ...why,
      `this machine: ${localOk ? formatFingerprint(local) : local.gpu === 'no-gpu' ? 'no GPU' : 'no TensorRT (trtexec)'}`,
    ];
    const what = targets.length
      ? `no builder serves compute capability ${unserved.map((p) => p.target).join(', ')}${hwc === 'ampere+' ? ' (ampere+: any GPU with cc >= 8.0)' : ''}`
      : 'no builder can build it';
    throw new UserError(`${spec.file}: tensorrt.${targets.length ? 'targets' : 'builders'}: ${what}. Builders: ${builders.join(', ') || 'none'}. Offered: ${offers.join('; ')}`);
  }

  const digest = await digestOf();
  const opt = optBatch(o.config);
  const request: BuildRequest = {
    onnx_sha256: digest.sha256,
    model: spec.name,
    max_batch_size: o.config.max_batch_size ?? 0,
    ...(opt !== undefined ? { opt_batch_size: opt } : {}),
    inputs: (o.config.input ?? []).map((t) => ({
      name: t.name,
      dims: (t.dims ?? []).map(Number),
      ...(t.reshape?.shape ? { reshape: { shape: t.reshape.shape.map(Number) } } : {}),
    })),
    tensorrt: Object.fromEntries(REMOTE_TENSORRT_KEYS.filter((k) => trt[k] !== undefined).map((k) => [k, trt[k]])) as BuildRequest['tensorrt'],
    ...(tritonRelease !== undefined ? { triton_release: tritonRelease } : {}),
  };

  let localTurn = Promise.resolve();
  const one = async (p: (typeof plan)[number]): Promise<{ built: BuiltPlan; got: StoreResult }> => {
    const failures: string[] = [];
    for (const ex of p.candidates) {
      const label = `${spec.name}${p.target ? ` sm${p.target.replace('.', '')}` : ''}`;
      const prefix = ex.remote ? `[builder ${ex.via} ${label}]` : '';
      const log = (line: string): void => o.log(prefix ? `${prefix} ${line}` : line);
      const file = p.target ? planFileForTarget(p.target) : 'model.plan';
      const lookup = stored.get(ex);
      if (ex.remembered && lookup) {
        const got = await store.get(lookup.key, lookup.parts);
        if (!got) {
          failures.push(`builder ${ex.via}: unreachable (${ex.remote?.error}); the plan its remembered fingerprint gave left the local engine store meanwhile`);
          continue;
        }
        o.log(
          `engine ${label}: builder ${ex.via} is unreachable (${ex.remote?.error}); used its fingerprint remembered from ${ex.remembered.seen_at}: ` +
            `from the local engine store (${lookup.key.slice(0, 12)}), nothing built`,
        );
        return { got, built: { target: p.target, file, key: lookup.key, parts: lookup.parts, hit: true, via: ex.via } };
      }
      const run = async (): Promise<{ built: BuiltPlan; got: StoreResult }> => {
        const prepared = await prepareEngine({
          ...o,
          fingerprint: ex.fingerprint,
          onnxDigest: digest,
          log,
          buildPlan: ex.remote
            ? async (tmpPlan, expected) => {
                log(`sending ${onnxSize} bytes of ONNX for engine ${expected.key.slice(0, 12)}`);
                const started = Date.now();
                const r = await requestPlan(ex.via, { token, retry: o.retry, onnxFile, onnxBytes: onnxSize, request, planPath: tmpPlan, expected, onLog: log });
                log(`${r.hit ? "from the builder's engine store" : 'built'}: ${r.manifest.plan.size} bytes in ${((Date.now() - started) / 1000).toFixed(1)}s`);
                return { command: r.manifest.command };
              }
            : undefined,
        });
        const got = await prepared.get();
        if (got.hit) o.log(`engine ${label}: from the local engine store (${prepared.key.slice(0, 12)}), nothing built`);
        return { got, built: { target: p.target, file, key: prepared.key, parts: prepared.parts, hit: got.hit, via: ex.via } };
      };
      try {
        if (ex.remote) return await run();
        // One local trtexec at a time: parallel builds would skew each other's timings.
        const turn = localTurn.then(run);
        localTurn = turn.then(
          () => undefined,
          () => undefined,
        );
        return await turn;
      } catch (err) {
        if (!(err instanceof BuilderError || err instanceof UserError)) throw err;
        failures.push(ex.remote ? `builder ${ex.via}: ${err.message}` : err.message);
        if (ex.remote && err instanceof BuilderError) continue; // another builder may serve it
        break;
      }
    }
    throw new UserError(`${spec.file}: engine ${spec.name}${p.target ? ` for compute capability ${p.target}` : ''} failed: ${failures.join('; ')}`);
  };
  const results = await Promise.allSettled(plan.map(one));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failed.length > 0) {
    const other = failed.find((e) => !(e instanceof UserError));
    if (other) throw other;
    throw new UserError(failed.map((e) => (e as Error).message).join('\n'));
  }
  const done = results.map((r) => (r as PromiseFulfilledResult<{ built: BuiltPlan; got: StoreResult }>).value);
  await publishPlans(o.outDir, done, targets.length > 0);
  return done.map((d) => d.built);
}

interface StoredLookup {
  key: string;
  parts: EngineKeyParts;
  hit: boolean;
}

/** The key a remembered fingerprint gives, and whether the local store holds its plan; never builds. */
async function lookUpStored(o: BuildEnginesOptions, ex: Executor, digest: EngineKeyParts['onnx'], store: EngineStore): Promise<StoredLookup> {
  const prepared = await prepareEngine({
    ...o,
    fingerprint: ex.fingerprint,
    onnxDigest: digest,
    log: (line) => o.log(`[builder ${ex.via} (remembered)] ${line}`),
    buildPlan: async () => {
      throw new Error('nx-triton: a remembered fingerprint never sends a build');
    },
  });
  const hit = (await store.get(prepared.key, prepared.parts)) !== undefined;
  return { key: prepared.key, parts: prepared.parts, hit };
}

function describeRemembered(ex: Executor, lookup: StoredLookup | undefined): string {
  const when = `its fingerprint remembered from ${ex.remembered!.seen_at} (${formatFingerprint(ex.remembered!.fingerprint)})`;
  const miss = lookup && !lookup.hit ? ` has no plan in the local engine store for this engine (${lookup.key.slice(0, 12)})` : '';
  return `${describeBuilder(ex.remote!)}; ${when}${miss}`;
}

function usable(fp: Fingerprint): Executor['fingerprint'] | undefined {
  if (fp.gpu === 'no-gpu' || fp.tensorrt === 'no-tensorrt') return undefined;
  return fp as Executor['fingerprint'];
}

function ccNumber(cc: string): number {
  const [major, minor] = cc.split('.').map(Number);
  return major + minor / 1000;
}

/** Who can build for `target`: exact compute capability first; with ampere+ any GPU from 8.0. */
function candidatesFor(executors: Executor[], target: string | undefined, hwc: string | undefined): Executor[] {
  if (target === undefined) return executors;
  const exact = executors.filter((e) => e.fingerprint.gpu.computeCapability === target);
  if (hwc !== 'ampere+') return exact;
  const rest = executors.filter((e) => !exact.includes(e) && /^\d+\.\d+$/.test(e.fingerprint.gpu.computeCapability) && ccNumber(e.fingerprint.gpu.computeCapability) >= 8);
  return [...exact, ...rest];
}

/**
 * Copies every plan into the engine dir (temp file + rename each), then writes engine.json and
 * removes plans of an earlier configuration. Runs only once all plans are in the local store.
 */
async function publishPlans(outDir: string, done: Array<{ built: BuiltPlan; got: StoreResult }>, withTargets: boolean): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const temps: string[] = [];
  try {
    for (const { built, got } of done) {
      const tmp = join(outDir, built.file + suffix);
      temps.push(tmp);
      await copyFile(got.planPath, tmp);
    }
    for (const { built } of done) await rename(join(outDir, built.file + suffix), join(outDir, built.file));
    const provenance = withTargets
      ? ({
          targets: Object.fromEntries(
            done.map(({ built, got }) => [built.target, { file: built.file, key: built.key, parts: built.parts, plan: { size: got.manifest.plan.size, sha256: got.manifest.plan.sha256 } }]),
          ),
        } satisfies EngineProvenance)
      : { key: done[0].built.key, parts: done[0].built.parts, plan: { size: done[0].got.manifest.plan.size, sha256: done[0].got.manifest.plan.sha256 } };
    const tmp = join(outDir, PROVENANCE_FILE + suffix);
    temps.push(tmp);
    await writeFile(tmp, JSON.stringify(provenance, null, 2) + '\n');
    await rename(tmp, join(outDir, PROVENANCE_FILE));
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
  await removeStalePlans(
    outDir,
    done.map((d) => d.built.file),
  );
}

async function removeStalePlans(outDir: string, keep: string[]): Promise<void> {
  for (const name of await readdir(outDir).catch(() => [] as string[])) {
    if (PLAN_FILE.test(name) && !keep.includes(name)) await rm(join(outDir, name), { force: true });
  }
}
