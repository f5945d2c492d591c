import type { ProjectConfiguration, TargetConfiguration, TargetDependencyConfig } from '@nx/devkit';
import { isTensorRt, runtimeOf } from '../lib/platforms';
import { EXPORT_SOURCES } from '../lib/model-spec/plugin-keys';
import type { SpecSummary } from '../lib/model-spec/summary';
import type { NormalizedPluginOptions } from './options';
import { SPEC_FILE } from '../lib/layout';

/** Pure: the targets and project settings that one triton.yaml implies. No IO here. */

export const ENGINE_FINGERPRINT_COMMAND = 'node node_modules/nx-triton/dist/cli/main.js fingerprint';

/** Backslash-escapes what is special inside a double-quoted `${VAR:-word}` of a POSIX shell. */
function shellDoubleQuoted(word: string): string {
  return word.replace(/[\\"$`}]/g, (c) => `\\${c}`);
}

/** The packages whose versions decide an export's bytes, whatever the model imports (lib/releases/python-packages.ts). */
const TOOLCHAIN = ['torch', 'onnx', 'onnxscript', 'onnxruntime', 'numpy'];

/**
 * A runtime input: the export's result depends on the interpreter and the versions of the packages
 * that take part — the toolchain (torch, onnx, onnxscript, onnxruntime for the gate, numpy) and
 * those the model module imports (`imports`, mapped to their distributions by the interpreter, the
 * standard library left out). Cheap (metadata only, no `import torch`), and it exits 0 whatever is
 * installed: a missing interpreter or package is hashed as text like any other answer. Models that
 * import the same packages share one command, which Nx runs once per invocation.
 */
export function pythonFingerprintCommand(python: string, imports: readonly string[] = []): string {
  const script =
    'import sys,importlib.metadata as m\n' +
    'def v(d):\n try: return m.version(d)\n except Exception: return \'none\'\n' +
    'n=sys.argv[1:]\n' +
    'try: p=m.packages_distributions() if n else {}\n' +
    'except Exception: p={}\n' +
    's=getattr(sys,\'stdlib_module_names\',())\n' +
    `t=${JSON.stringify(TOOLCHAIN).replace(/"/g, "'")}\n` +
    "o=[sys.version.split()[0]]+[d+'=='+v(d) for d in t]\n" +
    "o+=[d+'=='+v(d) for d in sorted(set(x for i in n if i not in s for x in p.get(i,[]))-set(t))]\n" +
    "print(' '.join(o))";
  const names = imports.filter((i) => /^[A-Za-z_]\w*$/.test(i));
  return `"\${NX_TRITON_PYTHON:-${shellDoubleQuoted(python)}}" -c "${script}"${names.map((n) => ` ${n}`).join('')} 2>&1 || true`;
}

export function technologies(summary: SpecSummary): string[] {
  const all = new Set<string>(['triton']);
  // The platform's runtime and the backend's (lib/platforms.ts)
  for (const t of runtimeOf({ platform: summary.platform })?.technologies ?? []) all.add(t);
  for (const t of runtimeOf({ backend: summary.backend })?.technologies ?? []) all.add(t);
  if (summary.exportKind === 'torch') all.add('pytorch');
  return [...all];
}

/**
 * Weights are often gitignored, and Nx leaves gitignored files out of `{projectRoot}/**\/*`: name the
 * model files the spec points at so a changed checkpoint is a changed cache key (Nx 24+).
 */
function ignoredModelFiles(paths: string[] | undefined, options: NormalizedPluginOptions): Array<{ fileset: string; includeIgnored: true }> {
  if (!options.includeIgnored) return [];
  return (paths ?? []).flatMap((p) => [
    { fileset: `{projectRoot}/${p}`, includeIgnored: true as const },
    { fileset: `{projectRoot}/${p}/**/*`, includeIgnored: true as const },
  ]);
}

function exportTarget(summary: SpecSummary, options: NormalizedPluginOptions): TargetConfiguration {
  // A source that runs no Python (export.file: a copy) does not depend on the interpreter.
  const copied = summary.exportKind !== undefined && !EXPORT_SOURCES[summary.exportKind].python;
  return {
    executor: 'nx-triton:export',
    // A copied file does not depend on the interpreter: no python inputs (each runtime input costs a
    // process per hash), and no option in the project's hash.
    // triton.yaml is hashed as exportDigest (the keys the export reads), not as a file: editing
    // instance_group or another config-only key must not re-run a long export.
    // tritonRelease: an unset export.torch.opset is chosen to fit it, so it is part of a torch export's key.
    options: {
      ...(copied ? {} : { python: options.python }),
      ...(summary.exportKind === 'torch' && options.tritonRelease !== undefined ? { tritonRelease: options.tritonRelease } : {}),
      ...(summary.exportDigest ? { exportDigest: summary.exportDigest } : {}),
    },
    cache: true,
    inputs: [
      '{projectRoot}/**/*',
      `!{projectRoot}/${SPEC_FILE}`,
      ...ignoredModelFiles(summary.modelPaths?.export, options),
      ...(copied ? [] : [{ env: 'NX_TRITON_PYTHON' }, { runtime: pythonFingerprintCommand(options.python, summary.modelImports) }]),
    ],
    outputs: [`{workspaceRoot}/dist/models/${summary.name}/export`],
    metadata: {
      description: `Export ${summary.name}'s model file from the export: section of triton.yaml`,
      technologies: technologies(summary),
      help: { command: 'npx nx-triton --help', example: { options: { python: '/usr/bin/python3' } } },
    },
  };
}

/** POSIX single quotes around a word. */
function shellQuoted(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The engine's runtime input: this machine's GPU/TensorRT, and the builders' when the model uses some. */
export function engineFingerprintCommand(root: string, summary: SpecSummary): string {
  return summary.hasBuilders ? `${ENGINE_FINGERPRINT_COMMAND} --builders-of ${shellQuoted(`${root}/${SPEC_FILE}`)}` : ENGINE_FINGERPRINT_COMMAND;
}

function engineTarget(root: string, summary: SpecSummary, options: NormalizedPluginOptions): TargetConfiguration {
  // Without an export of its own, a TensorRT model takes the ONNX of its `from:` model.
  const upstream: string | TargetDependencyConfig = summary.hasExport
    ? options.exportTargetName
    : { target: options.exportTargetName, dependencies: true };
  return {
    executor: 'nx-triton:engine',
    // Only what changes the plan belongs in the cache key: the engine store's location (plugin option
    // engineCache, env NX_TRITON_ENGINE_CACHE) does not, so the executor reads it from nx.json itself.
    options: options.tritonRelease === undefined ? {} : { tritonRelease: options.tritonRelease },
    cache: true,
    // One GPU, one trtexec at a time: parallel builds would skew each other's tactic timings.
    parallelism: false,
    dependsOn: [upstream],
    inputs: [
      `{projectRoot}/${SPEC_FILE}`,
      { dependentTasksOutputFiles: '**/*', transitive: true },
      { runtime: engineFingerprintCommand(root, summary) },
    ],
    outputs: [`{workspaceRoot}/dist/models/${summary.name}/engine`],
    metadata: {
      description: `Build ${summary.name}'s TensorRT plan(s) from its ONNX model, through the engine store`,
      technologies: technologies(summary),
      help: { command: 'npx nx-triton --help', example: { options: { engineCache: '/mnt/fast/trt-engines' } } },
    },
  };
}

function buildTarget(summary: SpecSummary, options: NormalizedPluginOptions, own: string[]): TargetConfiguration {
  return {
    executor: 'nx-triton:build',
    // tritonRelease: plan files (imported engines) are checked against it.
    options: { repository: options.repository, ...(options.tritonRelease === undefined ? {} : { tritonRelease: options.tritonRelease }) },
    cache: true,
    dependsOn: [
      ...own,
      // `from:` sources export first; ensemble members build first.
      { target: options.exportTargetName, dependencies: true },
      { target: options.buildTargetName, dependencies: true },
    ],
    inputs: [
      '{projectRoot}/**/*',
      ...ignoredModelFiles(summary.modelPaths?.versions, options),
      { dependentTasksOutputFiles: '**/*', transitive: true },
    ],
    outputs: [`{workspaceRoot}/${options.repository}/${summary.name}`],
    metadata: {
      description: `Validate ${summary.name} and write its entry in ${options.repository}/`,
      technologies: technologies(summary),
      help: { command: 'npx nx-triton --help', example: { options: { repository: options.repository } } },
    },
  };
}

/** The continuous target that serves a model; its name is fixed (DESIGN). */
export const SERVE_TARGET_NAME = 'serve';

/**
 * Nx 24's readiness check of `serve`: the executor signals it (nx's emitReadySignal) once Triton's
 * `/v2/health/ready` answers 200, which it does only when every model it was asked to load is ready
 * (Triton's strict readiness), with the URL the server listens on; Nx hands that URL to the tasks
 * that waited as NX_READY_URL. A `url` probe would be filled in from the options before the task
 * starts, so with `--httpPort=0` (a free port) it would poll port 0 until Nx gave up.
 */
export const SERVE_READY_WHEN = { signal: true } as const;

function serveTarget(summary: SpecSummary, options: NormalizedPluginOptions): TargetConfiguration {
  return {
    executor: 'nx-triton:serve',
    // The build's own option only: every target's options are in the hash of all the project's
    // tasks, so `python` and `tritonserver` are read from nx.json by the executor when it runs.
    options: { repository: options.repository },
    continuous: true,
    cache: false,
    // This model's entry and those of the models it needs (ensemble members, `from:` sources).
    dependsOn: [options.buildTargetName, { target: options.buildTargetName, dependencies: true }],
    ...(options.readyWhen ? { readyWhen: SERVE_READY_WHEN } : {}),
    metadata: {
      description: `Serve ${summary.name} (and the models it needs) with tritonserver on ${options.repository}/ until Ctrl-C`,
      technologies: technologies(summary),
      help: { command: 'npx nx-triton serve --help', example: { options: { httpPort: 8000 } } },
    },
  };
}

/** The target that deploys a model to an environment of nx.json's `deploy`; its name is fixed (DESIGN). */
export const DEPLOY_TARGET_NAME = 'deploy';

function deployTarget(summary: SpecSummary, options: NormalizedPluginOptions): TargetConfiguration {
  return {
    executor: 'nx-triton:deploy',
    // The built repository only: the environments' repositories and servers are read from nx.json by
    // the executor, since every target's options are in the hash of all the project's tasks (a new
    // server must not rebuild every model); credentials are never options (the AWS SDK's own chain).
    options: { repository: options.repository },
    // One configuration per environment, the first the default: `nx run m:deploy -c production`.
    configurations: Object.fromEntries(options.deployEnvironments.map((name) => [name, { environment: name }])),
    defaultConfiguration: options.deployEnvironments[0],
    // It has effects (uploads, loads on servers): always run, never from the cache.
    cache: false,
    // This model's entry is built first, and the models it uses (ensemble members, `from:` sources)
    // are deployed first, in the same environment: members are live before the ensembles that call them.
    dependsOn: [options.buildTargetName, { target: DEPLOY_TARGET_NAME, dependencies: true }],
    metadata: {
      description: `Deploy ${summary.name}'s changed files to an environment of nx.json's deploy, load it on the environment's servers, smoke-check it, roll back on failure`,
      technologies: technologies(summary),
      help: { command: 'npx nx-triton deploy --help', example: { options: { environment: options.deployEnvironments[0] } } },
    },
  };
}

/** The target that tunes a model's serving config; its name is fixed (DESIGN). */
export const TUNE_TARGET_NAME = 'tune';

function tuneTarget(summary: SpecSummary, options: NormalizedPluginOptions): TargetConfiguration {
  return {
    executor: 'nx-triton:tune',
    // The build's own option only, as for serve: every target's options are in the hash of all the
    // project's tasks, so python, tritonserver and perfAnalyzer are read from nx.json when it runs.
    options: { repository: options.repository },
    // It measures this machine and edits triton.yaml: a cached result would be a stale measurement.
    cache: false,
    // It measures the built entry, so the build runs first (ensembles are refused: no members needed).
    dependsOn: [options.buildTargetName],
    // Timings taken while other tasks run are skewed: no task runs beside it.
    parallelism: false,
    // Nx keeps the report (report.md, report.svg, report.json) as the task's output.
    outputs: [`{workspaceRoot}/dist/models/${summary.name}/tune`],
    metadata: {
      description: `Measure serving configs of ${summary.name} with perf_analyzer and write the best into triton.yaml`,
      technologies: technologies(summary),
      help: { command: 'npx nx-triton tune --help', example: { options: { concurrency: [1, 8, 32], latencyBudgetMs: 50 } } },
    },
  };
}

/** A TensorRT model whose `export.file` is a plan (an imported model): served as it is, no engine target. */
function exportsPlan(summary: SpecSummary): boolean {
  return summary.exportKind === 'file' && (summary.modelPaths?.export ?? []).some((p) => /\.(plan|engine)$/.test(p));
}

export function buildTargets(root: string, summary: SpecSummary, options: NormalizedPluginOptions): Record<string, TargetConfiguration> {
  const targets: Record<string, TargetConfiguration> = {};
  const own: string[] = [];
  if (summary.hasExport) {
    targets[options.exportTargetName] = exportTarget(summary, options);
    own.push(options.exportTargetName);
  }
  if (isTensorRt(summary) && !exportsPlan(summary)) {
    targets[options.engineTargetName] = engineTarget(root, summary, options);
    own.push(options.engineTargetName);
  }
  targets[options.buildTargetName] = buildTarget(summary, options, own);
  targets[SERVE_TARGET_NAME] = serveTarget(summary, options);
  targets[TUNE_TARGET_NAME] = tuneTarget(summary, options);
  // Only where nx.json's deploy has an environment.
  if (options.deployEnvironments.length > 0) targets[DEPLOY_TARGET_NAME] = deployTarget(summary, options);
  return targets;
}

/** The project that a triton.yaml at `root` (workspace-relative) makes. */
export function buildProject(root: string, summary: SpecSummary, options: NormalizedPluginOptions): ProjectConfiguration {
  return {
    name: summary.name,
    root,
    projectType: 'library',
    targets: buildTargets(root, summary, options),
    metadata: { technologies: technologies(summary) },
  };
}
