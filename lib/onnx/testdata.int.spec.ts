import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import type { OnnxSignature } from './types';
import { readOnnxSignature } from './read-signature';

const DATA = '/usr/share/libonnx-testdata/data';
const SCRIPT = join(__dirname, '..', '..', 'test', 'onnx-testdata.py');

type Reference = { ok: true; signature: OnnxSignature } | { ok: false; error: string };

function onnxFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.onnx'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** What the `onnx` package reads from each file, in one python process. */
function reference(files: string[]): Reference[] {
  const out = execFileSync('/usr/bin/python3', [SCRIPT, 'dump'], {
    input: JSON.stringify(files),
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out.toString('utf8'));
}

/** Our reader on every file: a signature, or the UserError. */
function ours(files: string[]): Promise<Array<OnnxSignature | UserError>> {
  return Promise.all(
    files.map((file) =>
      readOnnxSignature(file).catch((err: unknown) => {
        if (err instanceof UserError) return err;
        throw err;
      }),
    ),
  );
}

/** Files that the onnx package cannot parse either: cut inside a field, a bad wire type. */
function brokenFiles(dir: string, sample: string): string[] {
  const model = readFileSync(sample);
  const broken: Record<string, Buffer> = {
    'cut-in-half.onnx': model.subarray(0, model.length >> 1),
    'cut-one-short.onnx': model.subarray(0, model.length - 1),
    'wire-type-7.onnx': Buffer.from([0x08, 0x07, 0x0f, 0x00]),
    'graph-longer-than-file.onnx': Buffer.from([0x08, 0x07, 0x3a, 0x05, 0x12]),
    'unterminated-varint.onnx': Buffer.from([0x08, 0xff, 0xff]),
  };
  return Object.entries(broken).map(([name, bytes]) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  });
}

describe('readOnnxSignature agrees with the onnx package on libonnx-testdata', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-onnx-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const testdata = onnxFiles(DATA);
  const broken = brokenFiles(tmp, join(DATA, 'simple', 'test_sign_model', 'model.onnx'));
  const files = [...testdata, ...broken];

  it('finds the test models', () => {
    expect(testdata.length).toBeGreaterThan(1000);
  });

  it('has the broken files fail in the onnx package too', () => {
    expect(reference(broken).map((r) => r.ok)).toEqual(broken.map(() => false));
  });

  it('reads every model as onnx.load does (broken ones fail in both)', async () => {
    const expected = reference(files);
    const actual = await ours(files);
    const mismatches: string[] = [];
    files.forEach((file, i) => {
      const want = expected[i];
      const got = actual[i];
      if (!want.ok) {
        if (!(got instanceof UserError)) mismatches.push(`${file}: onnx fails (${want.error}), we read it`);
      } else if (got instanceof UserError) {
        mismatches.push(`${file}: onnx reads it, we fail: ${got.message}`);
      } else if (JSON.stringify(got) !== JSON.stringify(want.signature)) {
        mismatches.push(`${file}:\n  onnx: ${JSON.stringify(want.signature)}\n  ours: ${JSON.stringify(got)}`);
      }
    });
    expect(mismatches).toEqual([]);
  });
});
