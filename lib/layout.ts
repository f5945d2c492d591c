import { join } from 'node:path';
import { runtimeOf } from './platforms';
import type { ModelConfig } from './types';

/** Where the `export` target writes: the model under the file name it gets in the version dir. */
export function exportDir(workspaceRoot: string, modelName: string): string {
  return join(workspaceRoot, 'dist', 'models', modelName, 'export');
}

/** Where the `engine` target writes its plan(s). */
export function engineDir(workspaceRoot: string, modelName: string): string {
  return join(workspaceRoot, 'dist', 'models', modelName, 'engine');
}

/** Default `repository` plugin option. */
export const DEFAULT_REPOSITORY = 'dist/model-repository';

/**
 * The file (or directory) name Triton looks for in a version directory:
 * `default_model_filename` when set, else the platform's or backend's default,
 * `model.<backend>` for a custom backend, and undefined for an ensemble (no model file).
 */
export function modelFilename(config: ModelConfig): string | undefined {
  if (config.platform === 'ensemble') return undefined;
  if (config.default_model_filename) return config.default_model_filename;
  const runtime = runtimeOf(config);
  if (runtime) return runtime.file;
  return config.backend ? `model.${config.backend}` : undefined;
}

/**
 * nx-triton's deploy state beside a deployed repository (`<repository>.nx-triton/`, a sibling
 * prefix or directory, so never inside what Triton reads as a model): per model, the deployed
 * manifest, the journal of a deploy in progress, and the previous files kept until it succeeds.
 */
export const DEPLOY_STATE_SUFFIX = '.nx-triton';

export function deployStateKeys(base: string): {
  manifest: (model: string) => string;
  journal: (model: string) => string;
  backups: (model: string) => string;
  backup: (model: string, id: string, rel: string) => string;
} {
  const state = `${base}${DEPLOY_STATE_SUFFIX}`;
  return {
    manifest: (model) => `${state}/manifests/${model}.json`,
    journal: (model) => `${state}/journal/${model}.json`,
    backups: (model) => `${state}/backup/${model}/`,
    backup: (model, id, rel) => `${state}/backup/${model}/${id}/${rel}`,
  };
}
