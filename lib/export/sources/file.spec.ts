import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../../test/expect-user-error';
import { reluWithExternalData } from '../../../test/onnx-bytes';
import { parseSpec } from '../../model-spec/load';
import type { ModelSpec } from '../../model-spec/types';
import { exportFile } from './file';

let root: string;
let project: string;
let out: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nx-triton-export-file-'));
  project = join(root, 'ws', 'models', 'm');
  out = join(root, 'ws', 'dist', 'models', 'm', 'export');
  mkdirSync(project, { recursive: true });
  mkdirSync(out, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function put(path: string, content: string | Buffer = 'x'): void {
  mkdirSync(dirname(join(project, path)), { recursive: true });
  writeFileSync(join(project, path), content);
}

function spec(yaml: string): ModelSpec {
  return parseSpec(yaml, 'models/m/triton.yaml', project);
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (readdirSync(dirname(full), { withFileTypes: true }).find((e) => e.name === name)?.isDirectory()) walk(full, `${rel}${name}/`);
      else found.push(`${rel}${name}`);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return found;
}

const ONNX_SPEC = 'platform: onnxruntime_onnx\nexport: { file: model.onnx }\n';

describe('export.file never copies a file from outside the project', () => {
  // Issue 22, N2: only the last component was checked, so sub/w.bin with `sub` a link out of the workspace
  // was copied into the export (and from there into the repository and the Nx cache).
  it('refuses external data reached through a linked parent directory', async () => {
    const outside = join(root, 'secrets');
    mkdirSync(outside);
    writeFileSync(join(outside, 'w.bin'), 'secret');
    put('model.onnx', reluWithExternalData(['sub/w.bin']));
    symlinkSync(outside, join(project, 'sub'));
    const message = await userErrorMessage(exportFile(spec(ONNX_SPEC), 'model.onnx', join(out, 'model.onnx')));
    expect(message).toBe(`models/m/triton.yaml:2:11: export.file: "model.onnx" names external data "sub/w.bin", which leads through a symbolic link to ${join(outside, 'w.bin')}, outside the project directory`);
    expect(files(out).filter((f) => f.endsWith('w.bin'))).toEqual([]);
  });

  it('refuses a file of a directory tree reached through a linked directory inside it', async () => {
    const outside = join(root, 'secrets');
    mkdirSync(outside);
    writeFileSync(join(outside, 'key.txt'), 'secret');
    put('pkg/model.py', 'x');
    symlinkSync(outside, join(project, 'pkg', 'data'));
    const message = await userErrorMessage(exportFile(spec('backend: python\nexport: { file: pkg }\n'), 'pkg', join(out, 'model.py')));
    expect(message).toBe(`models/m/triton.yaml:2:11: export.file: "pkg/data" is a link to ${outside}, outside the project directory`);
  });

  it('follows links that stay inside the project', async () => {
    put('weights/w.bin', 'w');
    put('model.onnx', reluWithExternalData(['sub/w.bin']));
    symlinkSync(join(project, 'weights'), join(project, 'sub'));
    await exportFile(spec(ONNX_SPEC), 'model.onnx', join(out, 'model.onnx'));
    expect(readFileSync(join(out, 'sub/w.bin'), 'utf8')).toBe('w');
  });
});

describe('export.file with one external-data file under two spellings (issue 22, N15)', () => {
  it('copies it once, instead of failing with a raw EEXIST', async () => {
    put('w.bin', 'w');
    put('model.onnx', reluWithExternalData(['w.bin', './w.bin', 'w.bin']));
    await exportFile(spec(ONNX_SPEC), 'model.onnx', join(out, 'model.onnx'));
    expect(files(out)).toEqual(['model.onnx', 'w.bin']);
  });

  it('refuses a location that goes up and down again, which the directory form could not hold', async () => {
    put('w.bin', 'w');
    put('sub/.keep', '');
    put('model.onnx', reluWithExternalData(['sub/../w.bin']));
    const message = await userErrorMessage(exportFile(spec(ONNX_SPEC), 'model.onnx', join(out, 'model.onnx')));
    expect(message).toBe('models/m/triton.yaml:2:11: export.file: "model.onnx" names external data "sub/../w.bin", which cannot be used: it has a ".." component');
  });
});

describe('Python caches stay out of directory copies (issue 22, N8)', () => {
  // An unchecked-hash .pyc made Triton serve X + 1000 while model.py says X + 1.
  it('leaves __pycache__ directories and .pyc files out of a python model directory', async () => {
    put('pkg/model.py', 'X = 1\n');
    put('pkg/helpers.py', 'Y = 2\n');
    put('pkg/__pycache__/model.cpython-311.pyc', 'stale');
    put('pkg/old.pyc', 'stale');
    put('pkg/.env', 'KEY=1\n');
    await exportFile(spec('backend: python\nexport: { file: pkg }\n'), 'pkg', join(out, 'model.py'));
    expect(files(out)).toEqual(['.env', 'helpers.py', 'model.py']);
  });
});
