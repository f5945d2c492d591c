import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parsePbtxt, toPbtxt } from '../../proto/text-format';
import { modelFilename } from '../../lib/layout';
import { checkRepository } from '../../lib/repository/validate-repository';
import { LINEAR_ONNX, planBytes } from '../../lib/repository/rules/__fixtures__/repo';
import type { ModelEnsembling_Step } from '../../lib/model-config/generated';
import type { ModelConfig } from '../../lib/model-config';

/**
 * The cases of the agreement test: every config and repository our validate tests check, as
 * recorded by a run of those tests (record.setup.ts), laid out as model directories Triton can
 * load, each with our verdict computed on exactly what Triton gets.
 */

const ROOT = resolve(__dirname, '..', '..');

export interface Recorded {
  test: string;
  kind: 'config' | 'ensemble' | 'files' | 'repository';
  config?: ModelConfig;
  dirName?: string;
  members?: Array<[string, ModelConfig]>;
  versions?: Array<[string, number[]]>;
  dir?: string;
  opts?: { configOnly?: boolean };
}

/** One model Triton loads, with what our validate says of it. */
export interface Case {
  id: string;
  test: string;
  kind: Recorded['kind'];
  /** The repository it sits in, and the model to load there. */
  repository: string;
  model: string;
  /** Our problems (empty: we accept). */
  ours: string[];
}

/** Runs our validate tests with every rule call recorded; the recorded calls, and the directory that holds them. */
export function recordValidateTests(): { recorded: Recorded[]; dir: string } {
  const out = mkdtempSync(join(tmpdir(), 'nx-triton-agreement-record-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/agreement/record.config.mts'], {
    cwd: ROOT,
    env: { ...process.env, NX_TRITON_RECORD_DIR: out },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`the recording run of the validate tests failed:\n${r.stdout}${r.stderr}`);
  const recorded = readFileSync(join(out, 'cases.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Recorded);
  return { recorded, dir: out };
}

/** A python model that answers nothing useful: it loads, which is all the agreement needs. */
const STUB_PY = `import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse([]) for _ in requests]
`;

const problemText = (ps: Array<{ path: string; message: string }>) => ps.map((p) => `${p.path}: ${p.message}`);

/** Version directories with a model file Triton's core is content with (the backend never reads it here). */
function writeVersions(dir: string, config: ModelConfig, versions: number[] = [1]): void {
  for (const v of versions) {
    const vdir = join(dir, String(v));
    mkdirSync(vdir, { recursive: true });
    const file = config.backend === 'python' ? (config.default_model_filename || 'model.py') : modelFilename(config);
    if (!file) continue;
    if (config.backend === 'python') writeFileSync(join(vdir, file), STUB_PY);
    else if (file.endsWith('.onnx')) cpSync(LINEAR_ONNX, join(vdir, file));
    else if (file.endsWith('.plan')) writeFileSync(join(vdir, file), planBytes());
    else writeFileSync(join(vdir, file), 'placeholder');
  }
}

function writeConfig(dir: string, config: ModelConfig): boolean {
  let text: string;
  try {
    text = toPbtxt(config);
  } catch {
    return false;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.pbtxt'), text);
  return true;
}

/** The name a case's model gets: its own where it differs from its directory (a name rule is tested). */
function rename(config: ModelConfig, dirName: string | undefined, to: string): ModelConfig {
  const same = !config.name || config.name === (dirName ?? config.name);
  return { ...config, name: config.name ? (same ? to : `${to}_${config.name}`) : config.name };
}

/** A non-ensemble member as a python model with the same I/O and batch size. */
function asPython(member: ModelConfig, name: string): ModelConfig {
  const { platform: _p, default_model_filename: _d, instance_group: _i, ...rest } = member;
  // Label files stay behind: Triton reads them when the model loads, and they are not copied here.
  const output = member.output?.map(({ label_filename: _l, ...o }) => o);
  return { ...rest, ...(output ? { output } : {}), name, backend: 'python', instance_group: [{ kind: 'KIND_CPU' }] };
}

/**
 * The python twin of a config case of another backend: Triton's rules that run only once a backend
 * is found (instance groups, the batchers) are reached. No GPU here: KIND_GPU becomes KIND_CPU.
 */
function pythonTwin(config: ModelConfig, name: string): ModelConfig | undefined {
  if (config.backend === 'python' || config.platform === 'ensemble' || config.ensemble_scheduling) return undefined;
  const { platform: _p, default_model_filename: _d, cc_model_filenames: _c, ...rest } = config;
  const instance_group = config.instance_group?.map((g) => {
    if (g.kind !== 'KIND_GPU') return g;
    const { gpus: _g, ...cpu } = g;
    return { ...cpu, kind: 'KIND_CPU' as const };
  });
  const output = config.output?.map(({ label_filename: _l, ...o }) => o);
  return { ...rest, ...(output ? { output } : {}), name, backend: 'python', ...(instance_group ? { instance_group } : {}) };
}

function steps(config: ModelConfig): ModelEnsembling_Step[] {
  return config.ensemble_scheduling?.step ?? [];
}

function withSteps(config: ModelConfig, map: (name: string) => string): ModelConfig {
  if (!config.ensemble_scheduling) return config;
  return {
    ...config,
    ensemble_scheduling: { ...config.ensemble_scheduling, step: steps(config).map((s) => (s.model_name ? { ...s, model_name: map(s.model_name) } : s)) },
  };
}

/** Members for an ensemble recorded without any: python models that take and give what the steps map. */
function impliedMembers(config: ModelConfig): Array<[string, ModelConfig]> {
  const byName = new Map<string, ModelConfig>();
  for (const s of steps(config)) {
    if (!s.model_name || byName.has(s.model_name)) continue;
    const tensor = (name: string) => ({ name, data_type: 'TYPE_FP32' as const, dims: [-1] });
    byName.set(s.model_name, {
      name: s.model_name,
      backend: 'python',
      max_batch_size: config.max_batch_size,
      input: Object.keys(s.input_map ?? {}).map(tensor),
      output: Object.keys(s.output_map ?? {}).map(tensor),
    });
  }
  return [...byName.entries()];
}

/**
 * The single-model cases (config, ensemble, files), all in one repository under distinct names,
 * our verdict being `nx-triton validate` of that repository (config cases: but for the comparison
 * of a placeholder ONNX graph with the config, which only a backend Triton lacks here would make). Cases whose config has no text form (a value config.pbtxt
 * cannot hold) are counted in `skipped`.
 */
export async function singleModelCases(recorded: Recorded[]): Promise<{ repository: string; cases: Case[]; skipped: string[] }> {
  const repository = mkdtempSync(join(tmpdir(), 'nx-triton-agreement-'));
  const cases: Array<Omit<Case, 'ours'> & { configOnly: boolean }> = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  let n = 0;
  for (const r of recorded) {
    if (r.kind === 'repository') continue;
    const key = JSON.stringify([r.kind, r.config, r.dirName, r.members, r.versions, r.dir && readdirSync(r.dir), r.opts]);
    if (r.kind !== 'files' && seen.has(key)) continue;
    seen.add(key);
    const id = `${r.kind[0]}${n++}`;
    const config = rename(r.config!, r.dirName, id);
    const add = (model: string, configOnly: boolean) => cases.push({ id: model, test: r.test, kind: r.kind, repository, model, configOnly });
    if (r.kind === 'files') {
      // An ensemble's files are checked with its members in the repository cases.
      if (config.platform === 'ensemble') continue;
      const dir = join(repository, id);
      cpSync(r.dir!, dir, { recursive: true, verbatimSymlinks: true });
      if (!writeConfig(dir, config)) skipped.push(`${r.test} (${id})`);
      // Triton reads every file: our verdict is validate's without --config-only.
      else add(id, false);
      continue;
    }
    const isEnsemble = config.platform === 'ensemble';
    const members = r.kind === 'ensemble' ? r.members! : isEnsemble ? impliedMembers(config) : [];
    const memberName = (m: string) => `${id}_${m}`;
    const ensemble = isEnsemble ? withSteps(config, memberName) : config;
    const versions = new Map(r.versions ?? []);
    const memberConfigs = members.map(([m, c]) => {
      const name = memberName(m);
      return c.platform === 'ensemble' ? withSteps({ ...c, name }, memberName) : asPython(c, name);
    });
    if (!writeConfig(join(repository, id), ensemble) || !memberConfigs.every((c) => writeConfig(join(repository, c.name!), c))) {
      skipped.push(`${r.test} (${id})`);
      continue;
    }
    writeVersions(join(repository, id), ensemble);
    for (const o of ensemble.output ?? []) {
      const label = String(o.label_filename ?? '');
      if (label && basename(label) === label) writeFileSync(join(repository, id, label), 'a\nb\n');
    }
    members.forEach(([m], i) => writeVersions(join(repository, memberConfigs[i].name!), memberConfigs[i], versions.get(m)));
    add(id, true);
    const twin = r.kind === 'config' ? pythonTwin(config, `${id}_py`) : undefined;
    if (twin && writeConfig(join(repository, twin.name!), twin)) {
      writeVersions(join(repository, twin.name!), twin);
      add(twin.name!, true);
    }
  }
  const report = await checkRepository(repository);
  // compareOnnxSignature's messages end with the model file: `(1/model.onnx)`.
  const placeholderGraph = (p: { message: string }) => / \(\d+\/[^)]*\.onnx\)$/.test(p.message);
  const ours = (c: (typeof cases)[number]) =>
    problemText(report.problems.filter((p) => p.model === c.model && !p.warning && !(c.configOnly && placeholderGraph(p))));
  return { repository, cases: cases.map(({ configOnly, ...c }) => ({ ...c, ours: ours({ configOnly, ...c }) })), skipped };
}

/**
 * The repository cases: each recorded repository as it was, its ensembles' non-python members
 * turned into python models (so Triton's ensemble rules are reached), checked by our validate.
 */
export async function repositoryCases(recorded: Recorded[]): Promise<Case[]> {
  const cases: Case[] = [];
  const seen = new Set<string>();
  let n = 0;
  for (const r of recorded) {
    if (r.kind !== 'repository' || !existsSync(r.dir!) || readdirSync(r.dir!).length === 0) continue;
    const repository = mkdtempSync(join(tmpdir(), 'nx-triton-agreement-repo-'));
    cpSync(r.dir!, repository, { recursive: true, verbatimSymlinks: true });
    const models = readdirSync(repository).filter((m) => existsSync(join(repository, m, 'config.pbtxt')));
    const configs = new Map<string, ModelConfig>();
    for (const m of models) {
      try {
        configs.set(m, parsePbtxt(readFileSync(join(repository, m, 'config.pbtxt'), 'utf8'), m));
      } catch {
        // A config that does not parse stays as it is: both sides read the same text.
      }
    }
    const members = new Set([...configs.values()].filter((c) => c.platform === 'ensemble').flatMap((c) => steps(c).map((s) => s.model_name ?? '')));
    for (const m of members) {
      const c = configs.get(m);
      if (!c || c.platform === 'ensemble' || c.backend === 'python') continue;
      writeConfig(join(repository, m), asPython(c, c.name || m));
      for (const v of readdirSync(join(repository, m)).filter((d) => /^\d+$/.test(d))) writeFileSync(join(repository, m, v, 'model.py'), STUB_PY);
    }
    const key = JSON.stringify([r.opts, models.map((m) => readFileSync(join(repository, m, 'config.pbtxt'), 'utf8'))]);
    if (seen.has(key)) continue;
    seen.add(key);
    const id = `r${n++}`;
    // Triton reads every file: our verdict is validate's without --config-only.
    const report = await checkRepository(repository);
    for (const model of report.models) {
      const ours = problemText(report.problems.filter((p) => p.model === model && !p.warning));
      cases.push({ id: `${id}/${model}`, test: r.test, kind: 'repository', repository, model, ours });
    }
  }
  return cases;
}
