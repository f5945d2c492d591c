import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { displayPath, loadWorkspaceSpec } from '../config/from-chain';
import { UserError } from '../errors';
import { DEFAULT_REPOSITORY, tuneDir } from '../layout';
import { loadSpec } from '../model-spec';
import { renderChartSvg } from '../tune/chart';
import { bestFound, formatTable, outcomeLines, reportJson, reportMarkdown, type Outcome } from '../tune/report';
import type { Objective } from '../tune/score';
import { tuneModel } from '../tune/tune';
import { applyChanges, checkEdited, plannedChanges, writeSpecAtomically, writtenConfig } from '../tune/write-back';
import type { ProjectRun } from './project';

/**
 * `tune` (the Nx target and `nx-triton tune`): measure candidate serving configs of one built
 * model (lib/tune/), write report.md, report.svg and report.json, and the winner's keys into
 * triton.yaml unless --dryRun. No candidate within the budget: the report is written, triton.yaml
 * is not, and the UserError says what the best one reached.
 */

export interface TuneSettings {
  concurrency: number[];
  latencyBudgetMs: number;
  objective: Objective;
  maxCandidates: number;
  measurementIntervalMs: number;
}

/** The defaults of the options (executors/tune/schema.json states the same; a test ties them). */
export const TUNE_DEFAULTS: Readonly<TuneSettings> = Object.freeze({
  concurrency: [1, 8, 32],
  latencyBudgetMs: 50,
  objective: 'throughput',
  maxCandidates: 10,
  measurementIntervalMs: 1000,
});

export const OBJECTIVES: readonly Objective[] = ['throughput', 'latency'];

/** The options as given (an Nx option, a CLI flag): checked here, named by `name` in errors. */
export interface RawTuneSettings {
  concurrency?: unknown;
  latencyBudgetMs?: unknown;
  objective?: unknown;
  maxCandidates?: unknown;
  measurementIntervalMs?: unknown;
}

function bad(name: string, expected: string, value: unknown): UserError {
  return new UserError(`nx-triton: tune: ${name} must be ${expected} (got ${JSON.stringify(value)})`);
}

function positiveNumber(value: unknown, name: string, integer: boolean, min: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw bad(name, integer ? `an integer of at least ${min}` : `a number of at least ${min}`, value);
  }
  return n;
}

export function parseTuneSettings(raw: RawTuneSettings, name: (key: keyof TuneSettings) => string): TuneSettings {
  const out: TuneSettings = { ...TUNE_DEFAULTS, concurrency: [...TUNE_DEFAULTS.concurrency] };
  if (raw.concurrency !== undefined) {
    const items = Array.isArray(raw.concurrency) ? raw.concurrency : typeof raw.concurrency === 'string' ? raw.concurrency.split(',') : [raw.concurrency];
    const values = items.map((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v));
    if (values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
      throw bad(name('concurrency'), 'a list of positive integers such as 1,8,32', raw.concurrency);
    }
    out.concurrency = [...new Set(values as number[])].sort((a, b) => a - b);
  }
  if (raw.latencyBudgetMs !== undefined) out.latencyBudgetMs = positiveNumber(raw.latencyBudgetMs, name('latencyBudgetMs'), false, 0.001);
  if (raw.objective !== undefined) {
    if (!OBJECTIVES.includes(raw.objective as Objective)) throw bad(name('objective'), OBJECTIVES.join(' or '), raw.objective);
    out.objective = raw.objective as Objective;
  }
  if (raw.maxCandidates !== undefined) out.maxCandidates = positiveNumber(raw.maxCandidates, name('maxCandidates'), true, 1);
  if (raw.measurementIntervalMs !== undefined) out.measurementIntervalMs = positiveNumber(raw.measurementIntervalMs, name('measurementIntervalMs'), true, 100);
  return out;
}

export interface TuneRequest extends TuneSettings {
  /** The built repository (absolute). */
  repository: string;
  model: string;
  /** The triton.yaml the winner is written into (absolute); none: the winner is reported only. */
  specFile?: string;
  /** How messages name triton.yaml (workspace-relative). */
  specDisplay?: string;
  /** Where report.md, report.svg and report.json go (absolute). */
  outDir: string;
  /** Measure and report; leave triton.yaml as it is. */
  dryRun?: boolean;
  tritonserver?: string;
  perfAnalyzer?: string;
  python?: string;
  /** Workspace root (relative paths in messages and options are taken from here). */
  cwd?: string;
  /** Whether Triton has a GPU here (default: nvidia-smi says). */
  hasGpu?: boolean;
}

export async function runTune(request: TuneRequest, io: { log: (line: string) => void }): Promise<Outcome> {
  const cwd = request.cwd ?? process.cwd();
  const specDisplay = request.specDisplay ?? (request.specFile ? relative(cwd, request.specFile) : undefined);
  // A broken triton.yaml is reported before anything is measured.
  if (request.specFile) loadSpec(request.specFile, { displayPath: specDisplay });
  const run = await tuneModel({ ...request, cwd, log: io.log });
  const best = run.search.best;
  let outcome: Outcome;
  let edited: string | undefined;
  if (!best.score.qualifies) {
    outcome = { kind: 'over-budget', best, changes: [], skipped: [], specFile: specDisplay };
  } else {
    const changes = plannedChanges(run.space, best.knobs);
    if (changes.length === 0) outcome = { kind: 'unchanged', best, changes, skipped: [], specFile: specDisplay };
    else if (request.dryRun) outcome = { kind: 'dry-run', best, changes, skipped: [], specFile: specDisplay };
    else if (!request.specFile) outcome = { kind: 'no-spec', best, changes, skipped: [], specFile: specDisplay };
    else {
      const applied = applyChanges(readFileSync(request.specFile, 'utf8'), changes, writtenConfig(run.space, best.knobs));
      const written = changes.filter((c) => !applied.skipped.some((s) => s.change === c));
      checkEdited(applied.text, specDisplay ?? request.specFile, written);
      edited = applied.text;
      outcome = { kind: 'written', best, changes: written, skipped: applied.skipped, specFile: specDisplay };
    }
  }

  const winner = outcome.kind === 'over-budget' ? undefined : best.id;
  mkdirSync(request.outDir, { recursive: true });
  const svg = await renderChartSvg({ model: run.model, candidates: run.search.candidates, winner, latencyBudgetMs: request.latencyBudgetMs, objective: request.objective });
  writeFileSync(join(request.outDir, 'report.svg'), svg);
  writeFileSync(join(request.outDir, 'report.md'), reportMarkdown(run, outcome));
  writeFileSync(join(request.outDir, 'report.json'), reportJson(run, outcome));
  if (edited !== undefined && request.specFile) writeSpecAtomically(request.specFile, edited);

  const report = relative(cwd, join(request.outDir, 'report.md')) || join(request.outDir, 'report.md');
  for (const line of formatTable(run, winner).split('\n')) io.log(line);
  if (outcome.kind === 'over-budget') {
    throw new UserError(
      `nx-triton: tune ${run.model}: no candidate kept p99 within ${request.latencyBudgetMs} ms at concurrency ${request.concurrency.join(', ')}; ` +
        `nothing was written to triton.yaml. ${bestFound(run, best)} Report: ${report}`,
    );
  }
  for (const line of outcomeLines(run, outcome)) io.log(`nx-triton tune: ${line}`);
  io.log(`nx-triton tune: report: ${report} (and report.svg) in ${Math.round(run.seconds)} s`);
  return outcome;
}

/** The `tune` target's options, as its executor has them (the binaries already chosen from nx.json and the env). */
export interface TuneTargetOptions extends RawTuneSettings {
  repository?: string;
  dryRun?: boolean;
  tritonserver?: string;
  perfAnalyzer?: string;
  python?: string;
}

/** The `tune` target of one model project: its triton.yaml, its built entry, dist/models/<name>/tune/. */
export async function runTuneTarget(project: ProjectRun, options: TuneTargetOptions): Promise<Outcome> {
  const settings = parseTuneSettings(options, (key) => `option ${key}`);
  const root = project.workspaceRoot;
  const spec = loadWorkspaceSpec(root, project.specFile);
  const specFile = resolve(root, project.specFile);
  return runTune(
    {
      ...settings,
      repository: resolve(root, options.repository ?? DEFAULT_REPOSITORY),
      model: spec.name,
      specFile,
      specDisplay: displayPath(root, specFile),
      outDir: tuneDir(root, spec.name),
      dryRun: options.dryRun === true,
      tritonserver: options.tritonserver,
      perfAnalyzer: options.perfAnalyzer,
      python: options.python,
      cwd: root,
    },
    { log: project.log },
  );
}
