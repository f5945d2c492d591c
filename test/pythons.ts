import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { requirePeer } from './lane';

/**
 * The interpreters the suite runs exports under, both set up by scripts/setup-python.sh:
 * Debian's torch 1.13 (the oldest torch we support) and .venv's torch 2.x from PyPI (which also has
 * onnxruntime, onnxscript and nvidia-pytriton's tritonserver). A missing one fails the test that
 * asks for it, with the command that makes it: never a skip.
 */
const ROOT = resolve(__dirname, '..');

export const DEBIAN_PYTHON = '/usr/bin/python3';
/** Debian's torch 1.13 with onnxruntime added (the fidelity gate needs it; Debian does not package it). */
export const TORCH1_PYTHON = join(ROOT, '.venv-torch1', 'bin', 'python');
export const VENV_PYTHON = join(ROOT, '.venv', 'bin', 'python');

export interface TorchPython {
  /** For test titles: `torch 1.13`, `torch 2.x`. */
  label: string;
  path: string;
}

export const TORCH_PYTHONS: readonly TorchPython[] = [
  { label: 'torch 1.13 (Debian)', path: TORCH1_PYTHON },
  { label: 'torch 2.x (PyPI)', path: VENV_PYTHON },
];

/** The path of an interpreter, after checking that it exists. */
export function requirePython(path: string): string {
  requirePeer(`Python (${path})`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/setup-python.sh first`);
  return path;
}

/** .venv's interpreter (torch 2.x, onnxruntime, nvidia-pytriton). */
export function venvPython(): string {
  return requirePython(VENV_PYTHON);
}
