import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { executorContext } from '../../test/executor-context';
import exportExecutor from './executor';

const root = mkdtempSync(join(tmpdir(), 'nx-triton-export-executor-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let printed: string[] = [];
beforeEach(() => {
  printed = [];
  delete process.env.NX_TRITON_PYTHON;
  for (const method of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));
  }
});
afterEach(() => vi.restoreAllMocks());

function context(name: string, projectRoot: string) {
  return executorContext(root, name, { projects: { [name]: projectRoot } });
}

function model(name: string, yaml: string, files: Record<string, string> = {}): string {
  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'triton.yaml'), yaml);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return `models/${name}`;
}

describe('export executor', () => {
  it("runs the project's export and reports where it wrote", async () => {
    const projectRoot = model('served', 'backend: python\nexport:\n  file: model.py\n', { 'model.py': 'class TritonPythonModel: pass\n' });
    expect(await exportExecutor({}, context('served', projectRoot))).toEqual({ success: true });
    expect(readFileSync(join(root, 'dist/models/served/export/model.py'), 'utf8')).toBe('class TritonPythonModel: pass\n');
    expect(printed.join('\n')).toMatch(/export served: file model\.py -> dist\/models\/served\/export\/model\.py \(\d+\.\d s\)/);
  });

  it('prints a failed export as a located error, no stack', async () => {
    const projectRoot = model('broken', 'platform: onnxruntime_onnx\nexport:\n  command: ["python3", "-c", "import sys; sys.exit(7)"]\n');
    expect(await exportExecutor({ python: 'python3' }, context('broken', projectRoot))).toEqual({ success: false });
    const out = printed.join('\n');
    expect(out).toContain('models/broken/triton.yaml:3:');
    expect(out).toContain('export.command: "python3" exited with code 7');
    expect(out).not.toMatch(/\n\s+at /);
  });

  it('prints a bad triton.yaml as located one-line errors and exports nothing', async () => {
    const projectRoot = model('typo', 'platform: onnxruntime_onnx\ninstance_group:\n  - { kind: gpuu }\nexport:\n  file: model.onnx\n');
    expect(await exportExecutor({}, context('typo', projectRoot))).toEqual({ success: false });
    expect(printed.join('\n')).toMatch(/models\/typo\/triton\.yaml:3:\d+: instance_group\[0\]\.kind: /);
    expect(printed.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('fails cleanly for a project it does not know', async () => {
    const ctx = context('ghost', 'models/ghost');
    ctx.projectName = 'nobody';
    expect(await exportExecutor({}, ctx)).toEqual({ success: false });
    expect(printed.join('\n')).toContain('project "nobody" not found');
  });
});
