import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { externalDataProblem, uniqueExternalData } from '../onnx/external-data';
import { UserError } from '../errors';

/** What an engine depends on; the engine key is the sha256 of its canonical JSON. */
export interface EngineKeyParts {
  onnx: {
    sha256: string;
    /** External-data location (relative to the ONNX file) -> sha256. */
    external_data: Record<string, string>;
  };
  /** Full TensorRT version, build number included when known (`10.3.0.26`). */
  tensorrt: string;
  /** The exact GPU, or only what the declared hardware-compatibility level ties the plan to. */
  gpu: { name: string; compute_capability: string } | { compute_capability: string } | { hardware_compatibility: string };
  os: string;
  arch: string;
  /** trtexec arguments without the paths. */
  options: string[];
  /** The TensorRT version of the Triton release that serves the plan, when one is set. */
  triton_tensorrt?: string;
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function engineKey(parts: EngineKeyParts): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/**
 * sha256 of a file, read as a stream. With `cacheDir`, remembers the digest under
 * (path, size, mtimeMs, ino) so an unchanged file is not read again.
 */
export async function sha256File(path: string, cacheDir?: string): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs);
  const id = { path: abs, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  const entry = cacheDir ? join(cacheDir, `${createHash('sha256').update(abs).digest('hex')}.json`) : undefined;
  if (entry) {
    try {
      const cached = JSON.parse(await readFile(entry, 'utf8'));
      if (cached.path === id.path && cached.size === id.size && cached.mtimeMs === id.mtimeMs && cached.ino === id.ino) {
        return cached.sha256 as string;
      }
    } catch {
      // no or unreadable cache entry: hash the file
    }
  }
  const digest = await new Promise<string>((ok, ko) => {
    const h = createHash('sha256');
    createReadStream(abs, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => h.update(chunk))
      .on('error', ko)
      .on('end', () => ok(h.digest('hex')));
  });
  if (entry) {
    const tmp = `${entry}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(entry), { recursive: true });
      await writeFile(tmp, JSON.stringify({ ...id, sha256: digest }));
      await rename(tmp, entry);
    } catch {
      // the cache is an optimisation only
    }
  }
  return digest;
}

/** The ONNX file's digest and its external-data files', each location checked to stay beside it. */
export async function onnxDigest(onnxPath: string, externalData: string[], cacheDir?: string): Promise<EngineKeyParts['onnx']> {
  const base = dirname(resolve(onnxPath));
  const external: Record<string, string> = {};
  // One file is one entry however the graph spells it (issue 22, N15).
  for (const location of uniqueExternalData(externalData)) {
    const file = resolve(base, location);
    const problem = externalDataProblem(location);
    if (problem) throw new UserError(`${onnxPath}: external data location ${JSON.stringify(location)} cannot be used: ${problem}`);
    try {
      external[location] = await sha256File(file, cacheDir);
    } catch {
      throw new UserError(`${onnxPath}: external data file "${location}" is missing`);
    }
  }
  return { sha256: await sha256File(onnxPath, cacheDir), external_data: external };
}
