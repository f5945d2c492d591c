import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../..');
/** A real ONNX graph from Debian's ONNX test data: x [3, 4, 5] FLOAT -> y [3, 4, 5] FLOAT. */
import { ABS_ONNX } from '../../lib/repository/rules/__fixtures__/repo';

export { ABS_ONNX };

/** mulberry32: a small seeded PRNG, so every "random" moment is the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tempRoot(label: string): string {
  return mkdtempSync(join(tmpdir(), `nx-triton-robust-${label}-`));
}

/**
 * The ONNX test model with `mib` MiB of `fill` appended as ModelProto.doc_string (field 6): still a
 * valid model with the same signature, but a file of a few MiB whose bytes say which variant it is.
 */
export function bigOnnx(mib: number, fill: string): Buffer {
  const base = readFileSync(ABS_ONNX);
  const body = Buffer.alloc(mib * 1024 * 1024, fill);
  const len: number[] = [];
  for (let n = body.length; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([base, Buffer.from([0x32, ...len]), body]);
}

/** A workspace with one model project `models/<name>/` and its export already done. */
export function modelWorkspace(ws: string, name: string, yaml: string, onnx: Buffer): void {
  mkdirSync(join(ws, 'models', name), { recursive: true });
  writeFileSync(join(ws, 'models', name, 'triton.yaml'), yaml);
  writeFileSync(join(ws, 'models', name, 'model.onnx'), onnx);
  mkdirSync(join(ws, 'dist/models', name, 'export'), { recursive: true });
  writeFileSync(join(ws, 'dist/models', name, 'export/model.onnx'), onnx);
}

/** Every path under `root` (relative, `/` for dirs, `-> target` for links) with a content hash for files. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const rel = relative(root, full);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out.set(rel, `-> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.set(`${rel}/`, 'dir');
        walk(full);
      } else out.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** What changed between two snapshots: paths added, removed or with other content. */
export function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

export function rmrf(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

