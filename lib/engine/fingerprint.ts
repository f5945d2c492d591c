import { childEnv } from '../system/child-env';
import { arch, platform } from 'node:os';

/** The GPU a plan is built on, as nvidia-smi names it. */
export interface GpuInfo {
  name: string;
  /** `"8.0"`; `"unknown"` with drivers older than the `compute_cap` query field (R470). */
  computeCapability: string;
  driver: string;
}

export interface TensorRtInfo {
  /** `major.minor.patch` */
  version: string;
  /** The `[bNN]` build number of trtexec's banner, when it printed one. */
  build?: number;
}

/** What an engine is tied to: GPU, TensorRT, OS and CPU architecture. */
export interface Fingerprint {
  gpu: GpuInfo | 'no-gpu';
  tensorrt: TensorRtInfo | 'no-tensorrt';
  os: string;
  arch: string;
}

export interface FingerprintOptions {
  /** trtexec to ask (a path, or a name looked up on PATH); default `trtexec`. */
  trtexec?: string;
  /** Environment of the probes (PATH decides which nvidia-smi and trtexec run); default process.env. */
  env?: NodeJS.ProcessEnv;
}

const GPU_QUERY = ['--query-gpu=name,compute_cap,driver_version', '--format=csv,noheader'];
const GPU_QUERY_R470 = ['--query-gpu=name,driver_version', '--format=csv,noheader'];

/** Asks nvidia-smi and trtexec who they are; a missing or broken tool is reported, never thrown. */
export async function readFingerprint(opts: FingerprintOptions = {}): Promise<Fingerprint> {
  const env = opts.env ?? process.env;
  const [gpu, tensorrt] = await Promise.all([readGpu(env), readTensorRt(opts.trtexec ?? 'trtexec', env)]);
  return { gpu, tensorrt, os: platform(), arch: arch() };
}

/** One stable line: `gpu="NVIDIA A100-SXM4-80GB" cc=8.0 driver=550.54.15 tensorrt=10.3.0.26 os=linux arch=x64`. */
export function formatFingerprint(fp: Fingerprint): string {
  const gpu = fp.gpu === 'no-gpu' ? 'gpu=no-gpu' : `gpu=${JSON.stringify(fp.gpu.name)} cc=${fp.gpu.computeCapability} driver=${fp.gpu.driver}`;
  return `${gpu} tensorrt=${tensorRtVersionText(fp.tensorrt)} os=${fp.os} arch=${fp.arch}`;
}

/** `10.3.0.26` (with the build number when known), or `no-tensorrt`. */
export function tensorRtVersionText(trt: Fingerprint['tensorrt']): string {
  if (trt === 'no-tensorrt') return trt;
  return trt.build !== undefined ? `${trt.version}.${trt.build}` : trt.version;
}

async function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: string }> {
  const { execa } = await import('execa');
  const r = await execa(file, args, { env: childEnv({}, env), extendEnv: false, reject: false, all: true, stdin: 'ignore', timeout: 60_000 });
  return { ok: !r.failed, output: typeof r.all === 'string' ? r.all : '' };
}

async function readGpu(env: NodeJS.ProcessEnv): Promise<Fingerprint['gpu']> {
  let r = await run('nvidia-smi', GPU_QUERY, env);
  if (!r.ok && /not a valid field to query/i.test(r.output)) {
    r = await run('nvidia-smi', GPU_QUERY_R470, env);
    const old = r.ok ? parseGpuLine(r.output, false) : undefined;
    return old ?? 'no-gpu';
  }
  return (r.ok && parseGpuLine(r.output, true)) || 'no-gpu';
}

/**
 * The first GPU of `nvidia-smi --query-gpu=name[,compute_cap],driver_version --format=csv,noheader`.
 * Anything else (e.g. `Failed to initialize NVML: Driver/library version mismatch` printed with
 * status 0) is no GPU.
 */
export function parseGpuLine(output: string, withComputeCap = true): GpuInfo | undefined {
  const line = output.split(/\r?\n/).find((l) => l.trim() !== '');
  if (!line) return undefined;
  const fields = line.split(',').map((s) => s.trim());
  if (withComputeCap) {
    const [name, cc, driver] = fields;
    if (fields.length !== 3 || !name || !/^\d+\.\d+$/.test(cc) || !/^\d+(\.\d+)+$/.test(driver)) return undefined;
    return { name, computeCapability: cc, driver };
  }
  const [name, driver] = fields;
  if (fields.length !== 2 || !name || !/^\d+(\.\d+)+$/.test(driver)) return undefined;
  return { name, computeCapability: 'unknown', driver };
}

async function readTensorRt(trtexec: string, env: NodeJS.ProcessEnv): Promise<Fingerprint['tensorrt']> {
  // `--help` prints the banner and exits without touching the GPU; its exit status is not relied on.
  const r = await run(trtexec, ['--help'], env);
  return parseTrtexecBanner(r.output) ?? 'no-tensorrt';
}

/**
 * The TensorRT version from trtexec's output: the `[I] TensorRT version: X.Y.Z` line when present,
 * else the banner `&&&& RUNNING TensorRT.trtexec [TensorRT v<N>] [b<build>]`, where N is
 * major*1000+minor*100+patch up to 9.x (v8601) and major*10000+minor*100+patch from 10.0 (v100300).
 */
export function parseTrtexecBanner(output: string): TensorRtInfo | undefined {
  const banner = /&&&& RUNNING TensorRT\.trtexec \[TensorRT v(\d+)\](?: \[b(\d+)\])?/.exec(output);
  const plain = /\[I\] TensorRT version: (\d+)\.(\d+)\.(\d+)/.exec(output);
  const build = banner?.[2] !== undefined ? Number(banner[2]) : undefined;
  if (plain) return { version: `${Number(plain[1])}.${Number(plain[2])}.${Number(plain[3])}`, build };
  if (!banner) return undefined;
  const n = Number(banner[1]);
  const [major, minor, patch] =
    n >= 100000 ? [Math.floor(n / 10000), Math.floor(n / 100) % 100, n % 100] : [Math.floor(n / 1000), Math.floor(n / 100) % 10, n % 100];
  return { version: `${major}.${minor}.${patch}`, build };
}
