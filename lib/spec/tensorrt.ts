import type { Node } from 'yaml';
import type { TensorRtSpec } from '../types';
import { describe, isScalar, setOwn, SpecContext } from './context';
import { didYouMean } from './suggest';
import { checkKeys, expectBool, expectInt, expectList, expectMap, expectString } from './values';

/** What trtexec offers as precision flags (fp32 = no flag; int4/fp8/best: TensorRT 8.6-10.x). */
export const PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8', 'fp8', 'int4', 'best'];

export const HARDWARE_COMPATIBILITY = ['none', 'ampere+', 'same_compute_capability'];

const UNITS: Record<string, number> = {
  b: 1 / (1024 * 1024),
  k: 1 / 1024,
  kb: 1 / 1024,
  kib: 1 / 1024,
  m: 1,
  mb: 1,
  mib: 1,
  g: 1024,
  gb: 1024,
  gib: 1024,
  t: 1024 * 1024,
  tb: 1024 * 1024,
  tib: 1024 * 1024,
};

/**
 * `tensorrt.workspace` in MiB: a number is MiB, a string carries a unit
 * ("4GiB", "512MiB", "512 M"; K/M/G are base 2 as in trtexec). Undefined when malformed.
 */
export function workspaceMiB(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = m[2] === '' ? 1 : UNITS[m[2].toLowerCase()];
  const mib = unit === undefined ? undefined : Number(m[1]) * unit;
  return mib !== undefined && mib > 0 && Number.isFinite(mib) ? mib : undefined;
}

export function checkTensorRt(ctx: SpecContext, node: Node | null, path: string): TensorRtSpec | undefined {
  const out: TensorRtSpec = {};
  const present = checkKeys(ctx, node, path, {
    precision: (value, at) => {
      const p = expectString(ctx, value, at);
      if (p === undefined) return;
      if (PRECISIONS.includes(p.toLowerCase())) out.precision = p.toLowerCase();
      else ctx.error(at, `unknown precision ${JSON.stringify(p)} (expected one of ${PRECISIONS.join(', ')})${didYouMean(p, PRECISIONS)}`);
    },
    workspace: (value, at) => {
      const v = isScalar(value) ? value.value : undefined;
      if (typeof v === 'bigint' && v > 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) out.workspace = Number(v);
      else if (typeof v === 'string' && workspaceMiB(v) !== undefined) out.workspace = v.trim();
      else ctx.error(at, `expected a size in MiB or a string such as "4GiB" or "512MiB", got ${describe(value)}`);
    },
    profiles: (value, at) => {
      const profiles = checkProfiles(ctx, value, at);
      if (profiles !== undefined) out.profiles = profiles;
    },
    builder_optimization_level: (value, at) => {
      const level = expectInt(ctx, value, at, 0, 5);
      if (level !== undefined) out.builder_optimization_level = level;
    },
    hardware_compatibility: (value, at) => {
      const h = expectString(ctx, value, at);
      if (h === undefined) return;
      const normal = h === 'sameComputeCapability' ? 'same_compute_capability' : h.toLowerCase();
      if (HARDWARE_COMPATIBILITY.includes(normal)) out.hardware_compatibility = normal;
      else ctx.error(at, `unknown value ${JSON.stringify(h)} (expected one of ${HARDWARE_COMPATIBILITY.join(', ')})`);
    },
    version_compatible: (value, at) => {
      const b = expectBool(ctx, value, at);
      if (b !== undefined) out.version_compatible = b;
    },
    targets: (value, at) => {
      const targets = checkTargets(ctx, value, at);
      if (targets !== undefined) out.targets = targets;
    },
    builders: (value, at) => {
      const builders = checkBuilders(ctx, value, at);
      if (builders !== undefined) out.builders = builders;
    },
    trtexec: (value, at) => {
      const t = expectString(ctx, value, at);
      if (t !== undefined) out.trtexec = t;
    },
    timing_cache: (value, at) => {
      const b = expectBool(ctx, value, at);
      if (b !== undefined) out.timing_cache = b;
    },
  });
  return present ? out : undefined;
}

/** A compute capability, "8.0"; a YAML number written 8.6 is taken as written. */
function checkTargets(ctx: SpecContext, node: Node | null, path: string): string[] | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    const text = isScalar(item.node) && item.node.value !== null ? (item.node.source ?? String(item.node.value)) : '';
    if (!/^\d{1,3}\.\d{1,3}$/.test(text)) {
      ctx.error(item.path, `expected a compute capability "major.minor" such as "8.6", got ${describe(item.node)}`);
      ok = false;
    } else if (out.includes(text)) {
      ctx.error(item.path, `target ${text} is listed twice`);
      ok = false;
    } else out.push(text);
  }
  return ok ? out : undefined;
}

function checkBuilders(ctx: SpecContext, node: Node | null, path: string): string[] | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    const s = expectString(ctx, item.node, item.path);
    let url: URL | undefined;
    try {
      url = s === undefined ? undefined : new URL(s);
    } catch {
      url = undefined;
    }
    if (s !== undefined && (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))) {
      ctx.error(item.path, `expected an http:// or https:// URL, got ${JSON.stringify(s)}`);
    }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) out.push(s as string);
    else ok = false;
  }
  return ok ? out : undefined;
}

export interface ShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

function checkProfiles(ctx: SpecContext, node: Node | null, path: string): Array<Record<string, ShapeRange>> | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: Array<Record<string, ShapeRange>> = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    if (!expectMap(ctx, item.node, item.path)) {
      ok = false;
      continue;
    }
    const profile: Record<string, ShapeRange> = {};
    for (const entry of ctx.entries(item.node, item.path)) {
      const range = checkShapeRange(ctx, entry.value, entry.path);
      if (range) setOwn(profile, entry.key, range);
      else ok = false;
    }
    out.push(profile);
  }
  return ok ? out : undefined;
}

function checkShapeRange(ctx: SpecContext, node: Node | null, path: string): ShapeRange | undefined {
  const got: Partial<Record<keyof ShapeRange, number[]>> = {};
  let ok = true;
  const dims = (key: keyof ShapeRange) => (value: Node | null, at: string) => {
    if (!expectList(ctx, value, at)) return (ok = false);
    const list: number[] = [];
    for (const item of ctx.items(value, at)) {
      const d = expectInt(ctx, item.node, item.path, 0, 2 ** 31 - 1, 'a dim size (a non-negative integer)');
      if (d === undefined) ok = false;
      else list.push(d);
    }
    got[key] = list;
  };
  if (!checkKeys(ctx, node, path, { min: dims('min'), opt: dims('opt'), max: dims('max') })) return undefined;
  if (!ok) return undefined;
  const missing = (['min', 'opt', 'max'] as const).filter((k) => got[k] === undefined);
  if (missing.length > 0) {
    ctx.error(path, `a profile needs min, opt and max; missing ${missing.join(', ')}`);
    return undefined;
  }
  const { min, opt, max } = got as ShapeRange;
  if (min.length !== opt.length || opt.length !== max.length) {
    ctx.error(path, `min, opt and max must have the same number of dims (got ${min.length}, ${opt.length}, ${max.length})`);
    return undefined;
  }
  for (let i = 0; i < min.length; i++) {
    if (!(min[i] <= opt[i] && opt[i] <= max[i])) {
      ctx.error(path, `dim ${i}: expected min <= opt <= max, got ${min[i]}, ${opt[i]}, ${max[i]}`);
      return undefined;
    }
  }
  return { min, opt, max };
}
