import { statSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeOf } from './platforms';
import type { ModelConfig } from './model-config';

/**
 * Every path and file name nx-triton reads from a workspace or writes into it: one place, so a
 * file name is never spelled twice. (The engine store's own entries are its format: lib/engine/store.ts.)
 */

/** The file that makes a directory a model project. */
export const SPEC_FILE = 'triton.yaml';

/** Default `repository` plugin option. */
export const DEFAULT_REPOSITORY = 'dist/model-repository';

/** Where the targets of model `modelName` write: `dist/models/<name>/<target>/`. */
function modelOutput(workspaceRoot: string, modelName: string, target: string): string {
  return join(workspaceRoot, 'dist', 'models', modelName, target);
}

/** Where the `export` target writes: the model under the file name it gets in the version dir. */
export function exportDir(workspaceRoot: string, modelName: string): string {
  return modelOutput(workspaceRoot, modelName, 'export');
}

/** Where the `engine` target writes its plan(s). */
export function engineDir(workspaceRoot: string, modelName: string): string {
  return modelOutput(workspaceRoot, modelName, 'engine');
}

/** Where the `tune` target writes its report. */
export function tuneDir(workspaceRoot: string, modelName: string): string {
  return modelOutput(workspaceRoot, modelName, 'tune');
}

/** The fidelity gate's record in the export output (never copied into the repository). */
export const VERIFY_RECORD_FILE = 'verify.json';

/**
 * What `export.torch` learnt about the TorchScript module it saved (TorchScript itself carries no
 * readable signature): written beside `model.pt` in the export directory, a dot file so it never
 * lands in the repository.
 */
export const TORCHSCRIPT_SIGNATURE_FILE = '.torchscript-signature.json';

/**
 * nx-triton's own notes in an export directory: never copied into the repository. Everything else of
 * the export is, dot files included, as a previous version's directory is copied (issue 22, N20).
 */
export const EXPORT_NOTES: readonly string[] = [VERIFY_RECORD_FILE, TORCHSCRIPT_SIGNATURE_FILE];

/**
 * The export of a model whose backend reads files of its own from the version directory (vLLM's
 * `model.json`, tensorrtllm, a python model with its own `runtime`: lib/platforms.ts loadsOwnFiles):
 * `export/version/`, the files of its version directory as they are named.
 */
export const VERSION_FILES = 'version';

/** ONNX's file name, and the file inside Triton's `model.onnx/` directory form (ONNX with external data). */
export const ONNX_FILE = 'model.onnx';

/** An ONNX model given as a file or as a `model.onnx/` directory: the `.onnx` file to read. */
export function onnxFileIn(path: string): string {
  try {
    return statSync(path).isDirectory() ? join(path, ONNX_FILE) : path;
  } catch {
    return path;
  }
}

/** The engine target's plan (one GPU target). */
export const PLAN_FILE = 'model.plan';

/** `8.0` -> `model_sm80.plan`, `12.0` -> `model_sm120.plan`: one plan per compute capability (`tensorrt.targets`). */
export function planFileForTarget(cc: string): string {
  return `model_sm${cc.replace('.', '')}.plan`;
}

/** A plan file the engine target writes: `model.plan` or `model_smXY.plan`. */
export const PLAN_FILE_PATTERN = /^model(_sm\d+)?\.plan$/;

/** What the engine target writes beside its plans: the engine's key and what it was built from (Triton ignores it). */
export const PROVENANCE_FILE = 'engine.json';

/** An ensemble's version directory holds this (empty) file: Nx does not restore empty directories. */
export const EMPTY_VERSION_MARKER = '.nx-triton-ensemble';

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
  /** The prefix of every manifest. */
  manifests: string;
  journal: (model: string) => string;
  /** The prefix of every journal. */
  journals: string;
  backups: (model: string) => string;
  backup: (model: string, id: string, rel: string) => string;
} {
  const state = `${base}${DEPLOY_STATE_SUFFIX}`;
  return {
    manifest: (model) => `${state}/manifests/${model}.json`,
    manifests: `${state}/manifests/`,
    journal: (model) => `${state}/journal/${model}.json`,
    journals: `${state}/journal/`,
    backups: (model) => `${state}/backup/${model}/`,
    backup: (model, id, rel) => `${state}/backup/${model}/${id}/${rel}`,
  };
}
