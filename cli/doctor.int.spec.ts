import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TORCH1_PYTHON, venvPython, requirePython } from '../test/pythons';
import { run } from './doctor';

/** nx-triton doctor against the real interpreters: .venv (torch 2.x, everything), Debian's torch 1.13, none. */

const site = mkdtempSync(join(tmpdir(), 'nx-triton-doctor-'));
afterAll(() => rmSync(site, { recursive: true, force: true }));

async function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await run(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  } finally {
    process.env = saved;
  }
}

const line = (out: string, name: string) => out.split('\n').find((l) => l.slice(8).startsWith(`${name} `)) ?? `(no ${name} line)`;

describe('nx-triton doctor', () => {
  it('with torch 2.x and the whole toolchain: each package ok, the dynamo exporter, the bundled tritonserver and its one backend, perf_analyzer; exit 0', async () => {
    const r = await doctor(['--python', venvPython()]);
    expect(r.code, r.out).toBe(0);
    for (const name of ['torch', 'numpy', 'onnx', 'onnxscript', 'onnxruntime']) expect(line(r.out, name)).toMatch(/^ok {6}/);
    expect(line(r.out, 'exporter')).toMatch(/^ok {6}exporter +dynamo — torch 2\.\d+\.\d+\S*'s default/);
    expect(line(r.out, 'tritonserver')).toMatch(/^ok {6}tritonserver +\S+\/pytriton\/tritonserver\/bin\/tritonserver — from nvidia-pytriton; backends: python; nvidia-pytriton has the python backend only/);
    expect(line(r.out, 'trtexec')).toMatch(/^- {7}trtexec +not found/);
    expect(r.out.split('\n').at(-2)).toBe('the export toolchain is complete');
  });

  it("with Debian's torch 1.13: the TorchScript-based exporter, onnxscript not needed", async () => {
    const r = await doctor(['--python', requirePython(TORCH1_PYTHON)]);
    expect(r.code, r.out).toBe(0);
    expect(line(r.out, 'exporter')).toMatch(/^ok {6}exporter +torchscript — torch 1\.13\S* has only the TorchScript-based exporter/);
    expect(line(r.out, 'onnxscript')).toMatch(/^- {7}onnxscript +not installed/);
  });

  it('names a package older than the minimum and the pip command; an old onnxscript stops the default exporter; exit 1', async () => {
    mkdirSync(join(site, 'onnxruntime-1.10.0.dist-info'));
    writeFileSync(join(site, 'onnxruntime-1.10.0.dist-info/METADATA'), 'Metadata-Version: 2.1\nName: onnxruntime\nVersion: 1.10.0\n');
    mkdirSync(join(site, 'onnxscript-0.0.1.dist-info'));
    writeFileSync(join(site, 'onnxscript-0.0.1.dist-info/METADATA'), 'Metadata-Version: 2.1\nName: onnxscript\nVersion: 0.0.1\n');
    const r = await doctor(['--python', venvPython()], { PYTHONPATH: site });
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    const at = lines.findIndex((l) => l.startsWith('MISSING onnxruntime'));
    expect(lines[at]).toMatch(/^MISSING onnxruntime +1\.10\.0 \(older than 1\.16\) — the fidelity gate/);
    expect(lines[at + 1].trim()).toBe('fix: pip install "onnxruntime>=1.16" (or pip install -r node_modules/nx-triton/python/requirements.txt)');
    expect(line(r.out, 'exporter')).toMatch(/^MISSING exporter +dynamo, which cannot run: onnxscript 0\.1\+ is not installed/);
    expect(lines.at(-2)).toBe('the export toolchain is incomplete: see MISSING above');
  });

  it('an interpreter that does not run: one line saying where to point; exit 1', async () => {
    const r = await doctor(['--python', join(site, 'no-python')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`MISSING python`);
    expect(r.out).toContain(`fix: point --python, NX_TRITON_PYTHON or nx.json's "python" option at a Python 3 with torch`);
  });
});
