import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parse } from 'yaml';
import { fieldFiles } from './keys';
import { checkModelName } from './model-name';
import { EXPORT_KINDS, PLUGIN_FIELDS, type ExportKind } from './plugin-keys';

/**
 * What project graph construction needs from a triton.yaml: read leniently and cheaply.
 * Never the source of an error message: the `build` target parses the file for real.
 */
export interface SpecSummary {
  /** `name:` when it is a legal model name, else the directory's basename. */
  name: string;
  platform?: string;
  backend?: string;
  hasExport: boolean;
  /** The first source key under `export:` (the full parser rejects more than one). */
  exportKind?: ExportKind;
  /** `export.torch.model` ("net:build"), when it is a string. */
  torchModel?: string;
  /**
   * The top-level packages the model module imports (`transformers`, `timm`): their versions join the
   * export's cache key. Read from the module's source by the plugin (lib/export/python-imports.ts),
   * not by this lenient YAML read.
   */
  modelImports?: string[];
  from?: string;
  /** `ensemble_scheduling.step[].model_name`, de-duplicated, in order. */
  ensembleModels: string[];
  /** `tensorrt.builders` lists remote engine builders (their fingerprints join the engine's cache key). */
  hasBuilders?: boolean;
  /**
   * Project-relative model files that are often gitignored (weights), plain relative paths only:
   * what the export reads (`export.file`, `export.torch.checkpoint`) and what the build copies
   * (`previous_versions` directories).
   */
  modelPaths?: { export: string[]; versions: string[] };
  /**
   * sha256 of the triton.yaml keys the export target reads (EXPORT_READS): its cache key holds this
   * instead of triton.yaml, so a config-only edit (instance_group, ...) does not re-run the export.
   */
  exportDigest?: string;
  /** False when the text is not a YAML map: every other field then holds its default. */
  parsed: boolean;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function ensembleModels(doc: Record<string, unknown>): string[] {
  const scheduling = doc.ensemble_scheduling;
  if (!isMap(scheduling) || !Array.isArray(scheduling.step)) return [];
  const names = new Set<string>();
  for (const step of scheduling.step) {
    const name = isMap(step) ? nonEmptyString(step.model_name) : undefined;
    if (name) names.add(name);
  }
  return [...names];
}

/** A plain relative path inside the project (no `..`, not absolute, no glob characters), or undefined. */
function plainRelative(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const path = value.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path) || /[*?[\]{}!\0]/.test(path)) return undefined;
  return path.split('/').some((s) => s === '..' || s === '.') ? undefined : path;
}

/** The project files the plugin keys name (each table's `files`), plain relative paths only. */
function modelPaths(doc: Record<string, unknown>): { export: string[]; versions: string[] } {
  const files = fieldFiles(doc, PLUGIN_FIELDS);
  const plain = (values: unknown[]) => [...new Set(values.map(plainRelative).filter((p): p is string => p !== undefined))];
  return { export: plain(files.export), versions: plain(files.build) };
}

/**
 * The Triton keys of triton.yaml that the export reads: what picks the file name and format (name,
 * platform, backend, default_model_filename), the I/O (names, types, dims) and the batch sizes the
 * gate runs at (max_batch_size, dynamic_batching).
 */
const CONFIG_KEYS_THE_EXPORT_READS = ['name', 'platform', 'backend', 'default_model_filename', 'max_batch_size', 'input', 'output', 'dynamic_batching'];

/** The top-level keys the export reads: those Triton keys, and the plugin keys declared `exportReads` (export, verify, from, ...). */
const EXPORT_READS = [...CONFIG_KEYS_THE_EXPORT_READS, ...Object.entries(PLUGIN_FIELDS).flatMap(([k, f]) => ('exportReads' in f ? [k] : []))];

/** JSON with sorted keys: the same data gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isMap(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

function exportDigest(doc: Record<string, unknown>): string {
  const read = Object.fromEntries(EXPORT_READS.filter((k) => doc[k] !== undefined).map((k) => [k, doc[k]]));
  return createHash('sha256').update(canonical(read)).digest('hex');
}

/** `dir` is the project directory (its basename is the default model name). */
export function readSpecSummary(text: string, dir: string): SpecSummary {
  const fallback: SpecSummary = { name: basename(dir), hasExport: false, ensembleModels: [], parsed: false };
  let doc: unknown;
  try {
    // A tiny alias budget: a "billion laughs" file must not stall the project graph.
    doc = parse(text, { maxAliasCount: 20, uniqueKeys: false, prettyErrors: false });
  } catch {
    return fallback;
  }
  if (!isMap(doc)) return fallback;

  const declared = typeof doc.name === 'string' ? doc.name : undefined;
  const exportSection = isMap(doc.export) ? doc.export : undefined;
  const exportKind = exportSection ? EXPORT_KINDS.find((k) => exportSection[k] !== undefined) : undefined;
  const paths = modelPaths(doc);
  return {
    name: declared !== undefined && checkModelName(declared) === undefined ? declared : fallback.name,
    platform: nonEmptyString(doc.platform),
    backend: nonEmptyString(doc.backend),
    hasExport: doc.export !== undefined && doc.export !== null,
    exportKind,
    ...(exportKind === 'torch' && isMap(exportSection?.torch) && typeof exportSection.torch.model === 'string' ? { torchModel: exportSection.torch.model } : {}),
    from: nonEmptyString(doc.from),
    ensembleModels: ensembleModels(doc),
    ...(isMap(doc.tensorrt) && Array.isArray(doc.tensorrt.builders) && doc.tensorrt.builders.length > 0 ? { hasBuilders: true } : {}),
    ...(paths.export.length + paths.versions.length > 0 ? { modelPaths: paths } : {}),
    ...(exportSection ? { exportDigest: exportDigest(doc) } : {}),
    parsed: true,
  };
}
