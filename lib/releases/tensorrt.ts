import { UserError } from '../errors';
import TABLE from './trt-releases.json';

/**
 * What one TensorRT release can do, read from trt-releases.json: the one table of TensorRT facts
 * (trtexec flags, precision model, memory-pool unit, hardware-compatibility levels, plan header).
 * The spec checker, trtexecArgs, the builders and the test stand-in trtexec all read that table.
 */

/** One entry of the table: what changed in `release`; everything not given is inherited. */
export interface ReleaseEntry {
  release: string;
  precision?: 'flags' | 'strongly_typed';
  memory_pool_unit?: string;
  hardware_compatibility?: Record<string, string>;
  plan_header?: boolean;
  builds?: boolean;
  flags_added?: string[];
  flags_removed?: string[];
}

export interface ReleaseTable {
  /** tensorrt.precision value -> trtexec flag (fp32 is no flag). */
  precisions: Record<string, string>;
  releases: ReleaseEntry[];
}

/** The capabilities of the TensorRT version `version` (the newest table entry at or below it, with all before it). */
export interface TensorRtRelease {
  /** The version asked for, as given (`10.3.0.26`). */
  version: string;
  /** The table entry it falls in. */
  release: string;
  /** trtexec flags without the leading `--`. */
  flags: ReadonlySet<string>;
  precision: 'flags' | 'strongly_typed';
  memoryPoolUnit: string;
  /** tensorrt.hardware_compatibility value -> --hardwareCompatibilityLevel value. */
  hardwareCompatibility: Readonly<Record<string, string>>;
  planHeader: boolean;
  builds: boolean;
  /** The first release of the table that has `flag` (for messages), if any. */
  since(flag: string): string | undefined;
  /** The first release where hardware-compatibility level `level` exists, if any. */
  levelSince(level: string): string | undefined;
}

export const RELEASES: ReleaseTable = TABLE as ReleaseTable;

export type Version = number[];

export function versionParts(text: string): Version {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (!m) throw new UserError(`unrecognised TensorRT version "${text}"`);
  return m.slice(1).filter((x) => x !== undefined).map(Number);
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** Every precision name tensorrt.precision takes in some release (fp32 first). */
export function allPrecisions(table: ReleaseTable = RELEASES): string[] {
  return ['fp32', ...Object.keys(table.precisions)];
}

/** Every hardware-compatibility level some release has. */
export function allHardwareLevels(table: ReleaseTable = RELEASES): string[] {
  return [...new Set(table.releases.flatMap((e) => Object.keys(e.hardware_compatibility ?? {})))];
}

/** The capabilities of TensorRT `version`, folded from the table's entries up to it. */
export function tensorRtRelease(version: string, table: ReleaseTable = RELEASES): TensorRtRelease {
  const v = versionParts(version);
  const upTo = table.releases.filter((e) => compareVersions(versionParts(e.release), v) <= 0);
  if (upTo.length === 0) throw new UserError(`TensorRT ${version} is older than every release nx-triton knows (${table.releases[0]?.release})`);
  const flags = new Set<string>();
  const current: Required<Omit<ReleaseEntry, 'flags_added' | 'flags_removed'>> = {
    release: '',
    precision: 'flags',
    memory_pool_unit: '',
    hardware_compatibility: {},
    plan_header: false,
    builds: false,
  };
  for (const e of upTo) {
    for (const f of e.flags_added ?? []) flags.add(f);
    for (const f of e.flags_removed ?? []) flags.delete(f);
    Object.assign(
      current,
      Object.fromEntries(Object.entries(e).filter(([k, value]) => value !== undefined && k !== 'flags_added' && k !== 'flags_removed')),
    );
  }
  const first = (has: (e: ReleaseEntry) => boolean): string | undefined => table.releases.find(has)?.release;
  return {
    version,
    release: current.release,
    flags,
    precision: current.precision,
    memoryPoolUnit: current.memory_pool_unit,
    hardwareCompatibility: current.hardware_compatibility,
    planHeader: current.plan_header,
    builds: current.builds,
    since: (flag) => first((e) => (e.flags_added ?? []).includes(flag)),
    levelSince: (level) => first((e) => Object.hasOwn(e.hardware_compatibility ?? {}, level)),
  };
}
