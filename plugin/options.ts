import { isAbsolute, relative, resolve, sep } from 'node:path';
import { deployEnvironments } from '../lib/deploy/environments';
import { DEFAULT_REPOSITORY } from '../lib/layout';
import { tritonReleaseProblem } from '../lib/releases/triton';

/** The `options` of nx-triton's entry in nx.json `plugins`, as the user wrote them. */
export interface TritonPluginOptions {
  repository?: string;
  buildTargetName?: string;
  exportTargetName?: string;
  engineTargetName?: string;
  python?: string;
  engineCache?: string;
  /** The tritonserver binary of the `serve` target (env NX_TRITON_SERVER overrides it). */
  tritonserver?: string;
  /** The Triton container release that serves the repository ("24.08"); per model: `triton_release`. */
  tritonRelease?: string;
  /** Deploy environments: each a configuration of the `deploy` target (lib/deploy/environments.ts). */
  deploy?: Record<string, { repository: string; servers?: string[]; allowHttp?: boolean }>;
  /** The perf_analyzer binary of the `tune` target (env NX_TRITON_PERF_ANALYZER overrides it). */
  perfAnalyzer?: string;
}

export interface NormalizedPluginOptions {
  /** Workspace-relative, `/`-separated, no trailing slash. */
  repository: string;
  buildTargetName: string;
  exportTargetName: string;
  engineTargetName: string;
  python: string;
  /** Left to the engine executor's default (`~/.cache/nx-triton/engines`, `NX_TRITON_ENGINE_CACHE`). */
  engineCache?: string;
  tritonRelease?: string;
  /** Nx 24+ hashes gitignored files named by `{ fileset, includeIgnored: true }` (22/23 know no such input). */
  includeIgnored: boolean;
  /** The serve executor reads it from nx.json itself (see plugin/targets.ts serveTarget). */
  tritonserver?: string;
  /** Nx 24+ knows `readyWhen` on continuous targets (the `serve` target's readiness probe). */
  readyWhen: boolean;
  /** The names of the deploy environments, nx.json's order (the first is the default configuration); none: no deploy target. */
  deployEnvironments: string[];
  /** The tune executor reads it from nx.json itself (see plugin/targets.ts tuneTarget). */
  perfAnalyzer?: string;
}

let nxMajor: number | undefined;

/** The major version of the nx running this plugin (read once per process). */
export function runningNxMajor(): number {
  if (nxMajor === undefined) {
    try {
      nxMajor = Number(String((require('nx/package.json') as { version: string }).version).split('.')[0]);
    } catch {
      nxMajor = 0;
    }
  }
  return nxMajor;
}

function text(options: Record<string, unknown>, key: keyof TritonPluginOptions, fallback: string): string;
function text(options: Record<string, unknown>, key: keyof TritonPluginOptions): string | undefined;
function text(options: Record<string, unknown>, key: keyof TritonPluginOptions, fallback?: string): string | undefined {
  const value = options[key];
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'string') {
    throw new Error(`nx-triton: plugin option "${key}" must be a string (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** Cache outputs must lie inside the workspace, so the repository must too. */
function workspaceRelative(path: string, workspaceRoot: string): string {
  const rel = relative(workspaceRoot, resolve(workspaceRoot, path));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Error(`nx-triton: plugin option "repository" must be a directory inside the workspace (got ${JSON.stringify(path)})`);
  }
  return rel.split(sep).join('/');
}

export function normalizeOptions(options: TritonPluginOptions | undefined, workspaceRoot: string): NormalizedPluginOptions {
  const given = (options ?? {}) as Record<string, unknown>;
  const normalized: NormalizedPluginOptions = {
    repository: workspaceRelative(text(given, 'repository', DEFAULT_REPOSITORY), workspaceRoot),
    buildTargetName: text(given, 'buildTargetName', 'build'),
    exportTargetName: text(given, 'exportTargetName', 'export'),
    engineTargetName: text(given, 'engineTargetName', 'engine'),
    python: text(given, 'python', 'python3'),
    includeIgnored: runningNxMajor() >= 24,
    readyWhen: runningNxMajor() >= 24,
    // Checked here (a bad environment is one line at once), read in full by the deploy executor.
    deployEnvironments: deployEnvironments(given).map(([name]) => name),
  };
  const engineCache = text(given, 'engineCache');
  if (engineCache !== undefined) normalized.engineCache = engineCache;
  const tritonserver = text(given, 'tritonserver');
  if (tritonserver !== undefined) normalized.tritonserver = tritonserver;
  const perfAnalyzer = text(given, 'perfAnalyzer');
  if (perfAnalyzer !== undefined) normalized.perfAnalyzer = perfAnalyzer;
  const tritonRelease = text(given, 'tritonRelease');
  const releaseProblem = tritonRelease === undefined ? undefined : tritonReleaseProblem(tritonRelease);
  if (releaseProblem) throw new Error(`nx-triton: plugin option "tritonRelease": ${releaseProblem}`);
  if (tritonRelease !== undefined) normalized.tritonRelease = tritonRelease;
  const names = [normalized.buildTargetName, normalized.exportTargetName, normalized.engineTargetName];
  if (normalized.deployEnvironments.length > 0 && names.includes('deploy')) {
    throw new Error(`nx-triton: plugin options buildTargetName, exportTargetName and engineTargetName cannot be "deploy" (the deploy target's name)`);
  }
  if (names.includes('serve')) {
    throw new Error(`nx-triton: plugin options buildTargetName, exportTargetName and engineTargetName cannot be "serve" (the serve target's name)`);
  }
  if (names.includes('tune')) {
    throw new Error(`nx-triton: plugin options buildTargetName, exportTargetName and engineTargetName cannot be "tune" (the tune target's name)`);
  }
  if (new Set(names).size !== names.length) {
    throw new Error(`nx-triton: plugin options buildTargetName, exportTargetName and engineTargetName must differ (got ${names.join(', ')})`);
  }
  return normalized;
}
