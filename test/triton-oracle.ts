import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { TritonClient, type InferTensor } from '../lib/triton/client';
import { locateTritonServer } from '../lib/triton/locate';
import { startTritonServer, writeBundlePythonBackend } from '../lib/triton/server';
import { venvPython } from './pythons';
import type { ModelConfig } from '../lib/model-config';
import { requirePeer } from './lane';

/**
 * The real Triton server as a test oracle for a built repository.
 *
 * nvidia-pytriton's tritonserver carries the python backend only. Triton's core applies its config
 * rules (core src/model_config_utils.cc: ValidateModelConfig, and ValidateModelIOConfig under
 * --disable-auto-complete-config) when it polls a model, before it looks up the backend library
 * (src/backend_model.cc TritonModel::Create: "unable to find backend library for backend '…'").
 * So a python model and an ensemble over python models must load and serve; any other model must
 * fail for that one reason and no other.
 */

/** One request and the outputs it must give (data flattened, as in KServe v2 JSON). */
export interface InferCase {
  inputs: InferTensor[];
  outputs: Record<string, { shape: number[]; data: Array<number | string | boolean> }>;
}

export interface OracleOptions {
  /** Expected answers of the models that load: every READY model needs at least one. */
  infer?: Record<string, InferCase[]>;
  /** The interpreter whose nvidia-pytriton runs the server (default .venv's). */
  python?: string;
  /**
   * Python-based backends to serve with (Triton finds `<backend-directory>/<name>/model.py` and runs
   * it in the python backend): backend name -> its model.py. Their models must load too.
   */
  pythonBackends?: Record<string, string>;
}

/** `refused`: Triton refused the model for a reason other than a missing backend library. */
export type OracleState = 'ready' | 'no-backend' | 'member-without-backend' | 'refused';

export interface OracleResult {
  model: string;
  state: OracleState;
  /** The backend Triton could not find (`no-backend`), or the member that could not load. */
  missing?: string;
  error?: string;
}

/** What Triton says when the only thing wrong is the absent backend library. */
const NO_BACKEND = /unable to find backend library for backend '([^']+)'|unable to find Python backend based backend library '([^']+)'/;
/** core model_repository_manager.cc, for an ensemble step whose model did not load. */
const MEMBER_NOT_LOADED = /ensemble '[^']+' depends on '([^']+)' which has no loaded version/;

/** The backend the bundle must find: python, a python-based backend given, or the ensemble scheduler inside the core. */
function loadsInBundle(config: ModelConfig, pythonBackends: Record<string, string> = {}): boolean {
  return config.backend === 'python' || config.platform === 'ensemble' || Object.hasOwn(pythonBackends, config.backend ?? '');
}

/**
 * A backend directory holding the bundle's python backend and the given python-based backends; the
 * server takes the last --backend-directory, so it replaces the one lib/triton/server.ts makes.
 */
function pythonBackendDirectory(python: string, backends: Record<string, string>): string {
  const bundle = locateTritonServer({ python }).bundle;
  if (!bundle) throw new Error('python-based backends need the tritonserver of nvidia-pytriton');
  const dir = mkdtempSync(join(tmpdir(), 'nx-triton-oracle-backends-'));
  writeBundlePythonBackend(bundle, dir);
  for (const [name, modelPy] of Object.entries(backends)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'model.py'), modelPy);
  }
  return dir;
}

function modelDirs(repository: string): string[] {
  return readdirSync(repository)
    .filter((n) => !n.startsWith('.') && statSync(join(repository, n)).isDirectory())
    .sort();
}

function ourConfig(repository: string, model: string): ModelConfig {
  return parsePbtxt(readFileSync(join(repository, model, 'config.pbtxt'), 'utf8'), `${model}/config.pbtxt`);
}

/**
 * The fields we wrote, as Triton holds them after it filled its defaults: each key of `ours`
 * taken from `theirs`, recursively (lists element by element). Scalars compare as text, so a
 * 64-bit integer that one side spells as a string still matches.
 */
export function writtenFields(ours: unknown, theirs: unknown): unknown {
  if (Array.isArray(ours)) {
    if (!Array.isArray(theirs) || theirs.length !== ours.length) return theirs;
    return ours.map((o, i) => writtenFields(o, theirs[i]));
  }
  if (ours && typeof ours === 'object') {
    if (!theirs || typeof theirs !== 'object' || Array.isArray(theirs)) return theirs;
    const t = theirs as Record<string, unknown>;
    return Object.fromEntries(Object.keys(ours).map((k) => [k, writtenFields((ours as Record<string, unknown>)[k], t[k])]));
  }
  return theirs === undefined ? undefined : String(theirs);
}

function asText(ours: unknown): unknown {
  if (Array.isArray(ours)) return ours.map(asText);
  if (ours && typeof ours === 'object') return Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, asText(v)]));
  return String(ours);
}

/**
 * Loads every model of `repository` in one server; what Triton made of each. A model that makes
 * the server die is `refused` with the server's last lines, and the server is started again.
 */
export async function loadWithTriton(
  repository: string,
  models: string[] = modelDirs(repository),
  python = venvPython(),
  opts: { unloadEach?: boolean; pythonBackends?: Record<string, string> } = {},
): Promise<{ results: OracleResult[]; client: TritonClient; stop: () => Promise<void> }> {
  requirePeer('tritonserver');
  const backends = opts.pythonBackends ? pythonBackendDirectory(python, opts.pythonBackends) : undefined;
  const extraArgs = backends ? [`--backend-directory=${backends}`] : [];
  const removeBackends = () => backends && rmSync(backends, { recursive: true, force: true });
  const start = () => startTritonServer({ repository, python, models: [], disableAutoCompleteConfig: true, extraArgs });
  let server = await start();
  let client = new TritonClient(server.url, server.log);
  const results: OracleResult[] = [];
  try {
    for (const model of models) {
      let loaded;
      try {
        loaded = await client.load(model);
      } catch (err) {
        const log = server.log().split('\n').slice(-5).join('\n');
        await server.stop();
        results.push({ model, state: 'refused', error: `tritonserver died loading ${model} (${(err as Error).message}): ${log}` });
        server = await start();
        client = new TritonClient(server.url, server.log);
        continue;
      }
      if (loaded.ok) {
        results.push({ model, state: 'ready' });
        // Many models in one server: each python model's stub goes once it has been seen to load.
        if (opts.unloadEach) await client.unload(model);
        continue;
      }
      const error = loaded.error ?? '';
      const member = MEMBER_NOT_LOADED.exec(error);
      const backend = NO_BACKEND.exec(error);
      if (member && backend) results.push({ model, state: 'member-without-backend', missing: member[1], error });
      else if (backend && !member) results.push({ model, state: 'no-backend', missing: backend[1] ?? backend[2], error });
      else results.push({ model, state: 'refused', error: error || 'load failed without a reason' });
    }
  } catch (err) {
    await server.stop();
    removeBackends();
    throw err;
  }
  const last = server;
  return { results, client, stop: () => last.stop().finally(removeBackends) };
}

/**
 * Serves `repository` with the real tritonserver and asserts what Triton must make of it:
 * python models and ensembles over them READY, with `GET /v2/models/<m>/config` holding every
 * field of our config.pbtxt unchanged, and answering each InferCase; every other model failing
 * only because its backend library is not in the bundle. Returns each model's result.
 */
export async function expectTritonServes(repository: string, options: OracleOptions = {}): Promise<OracleResult[]> {
  const models = modelDirs(repository);
  const configs = new Map(models.map((m) => [m, ourConfig(repository, m)]));
  const { results, client, stop } = await loadWithTriton(repository, models, options.python ?? venvPython(), { pythonBackends: options.pythonBackends });
  try {
    const byModel = new Map(results.map((r) => [r.model, r]));
    // An ensemble loads when all its members do (transitively); a model of another backend never.
    const mustLoad = (model: string, seen = new Set<string>()): boolean => {
      const config = configs.get(model);
      if (!config || !loadsInBundle(config, options.pythonBackends) || seen.has(model)) return false;
      if (config.platform !== 'ensemble') return true;
      const steps = config.ensemble_scheduling?.step ?? [];
      return steps.every((s) => mustLoad(s.model_name ?? '', new Set([...seen, model])));
    };
    const summary = (r: OracleResult) => `${r.model}: ${r.state}${r.error ? ` (${r.error})` : ''}`;
    for (const model of models) {
      const result = byModel.get(model)!;
      if (mustLoad(model)) {
        expect(summary(result)).toBe(`${model}: ready`);
        const theirs = await client.config(model);
        expect(writtenFields(configs.get(model), theirs), `${model}: Triton's config differs from our config.pbtxt`).toEqual(asText(configs.get(model)));
        const cases = options.infer?.[model] ?? [];
        expect(cases.length, `${model} loads: give its expected outputs (options.infer.${model})`).toBeGreaterThan(0);
        for (const c of cases) {
          const outputs = await client.infer(model, c.inputs);
          const got = Object.fromEntries(outputs.map((o) => [o.name, { shape: o.shape, data: o.data }]));
          expect(got, `${model}: infer ${JSON.stringify(c.inputs)}`).toEqual(c.outputs);
        }
      } else if (configs.get(model)?.platform === 'ensemble') {
        expect(result.state, summary(result)).toBe('member-without-backend');
      } else {
        expect(result.state, summary(result)).toBe('no-backend');
      }
    }
    return results;
  } finally {
    await stop();
  }
}

/** A request of FP32 values 1..n in `shape` whose answer is each value times `factor` (n = product of `shape`). */
export function scaleCase(input: string, output: string, shape: number[], factor: number): InferCase {
  const data = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 1);
  return { inputs: [{ name: input, shape, datatype: 'FP32', data }], outputs: { [output]: { shape, data: data.map((v) => v * factor) } } };
}
