import { isAbsolute, relative, sep } from 'node:path';
import { SpecError } from '../errors';
import { isEnsemble } from '../model-config';
import { loadSpec } from '../model-spec';
import type { ModelSpec } from '../model-spec/types';
import { deriveModelConfig } from './derive';
import { placed } from '../model-spec/positions';

export interface FromChainOptions {
  workspaceRoot: string;
  /** The triton.yaml of the project that builds `modelName`, if any. */
  resolveSpecFile: (modelName: string) => string | undefined;
}

export interface FromChain {
  /** This spec, the model its `from:` names, and so on, up to the one with `export:`. */
  chain: ModelSpec[];
  /** The `from:` model as deriveModelConfig takes it: its own `from:` chain folded into its config. */
  fromSpec?: ModelSpec;
  /** The spec whose export makes the model file; undefined only for an ensemble (it has no model file). */
  owner?: ModelSpec;
}

/** A workspace path as shown in messages: relative, with `/`, unless it lies outside the workspace. */
export function displayPath(workspaceRoot: string, path: string): string {
  const rel = relative(workspaceRoot, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
}

/** A triton.yaml, named in messages by its workspace path. */
export function loadWorkspaceSpec(workspaceRoot: string, file: string): ModelSpec {
  return loadSpec(file, { displayPath: displayPath(workspaceRoot, file) });
}

function fromProblem(spec: ModelSpec, message: string): SpecError {
  return new SpecError([placed(spec, 'from', message)]);
}

/**
 * Follows `from:` from `spec` to the model that has `export:`, refusing cycles and unknown models.
 * An ensemble's `from:` is not followed: it has no model file of its own.
 */
export function resolveFromChain(spec: ModelSpec, opts: FromChainOptions): FromChain {
  const ensemble = isEnsemble(spec.config);
  const chain = [spec];
  let current = spec;
  while (!current.export && current.from !== undefined && !isEnsemble(current.config)) {
    const name = current.from;
    if (chain.some((s) => s.name === name)) {
      const cycle = [...chain.map((s) => s.name), name].map((n) => JSON.stringify(n)).join(' -> ');
      throw fromProblem(current, `${cycle} is a cycle`);
    }
    const file = opts.resolveSpecFile(name);
    if (file === undefined) throw fromProblem(current, `no model project named ${JSON.stringify(name)} in the workspace (no triton.yaml builds it)`);
    current = loadWorkspaceSpec(opts.workspaceRoot, file);
    chain.push(current);
  }
  const owner = chain.find((s) => s.export !== undefined);
  if (!ensemble && !owner) {
    if (chain.length === 1) throw new SpecError([{ file: spec.file, path: '', message: 'no model source: set export: or from:' }]);
    throw fromProblem(chain[chain.length - 2], `model "${current.name}" has neither export: nor from:, so there is no model file to take`);
  }
  return { chain, fromSpec: fold(chain.slice(1)), owner };
}

function fold(chain: ModelSpec[]): ModelSpec | undefined {
  if (chain.length === 0) return undefined;
  const [head, ...rest] = chain;
  if (rest.length === 0) return head;
  return { ...head, config: deriveModelConfig(head, { fromSpec: fold(rest) }) };
}
