import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../lib/targets/build';
import { recoverEntry } from '../../lib/repository/write-entry';
import { DIST, ensureDist } from '../dist';
import { bigOnnx, changed, modelWorkspace, rmrf, seeded, snapshot, tempRoot } from './helpers';

const CHILD = join(__dirname, '../children/rebuild-loop.cjs');

// Two versions of one model that differ in config.pbtxt, in the file set (labels.txt) and in the
// model bytes, so an entry mixing them is caught.
const VARIANT_A = 'name: victim\nexport: { file: model.onnx }\ninstance_group: [{ kind: cpu, count: 1 }]\n';
const VARIANT_B =
  'name: victim\nexport: { file: model.onnx }\ninstance_group: [{ kind: cpu, count: 2 }]\n' +
  'output: [{ name: y, data_type: fp32, dims: [3, 4, 5], label_filename: labels.txt }]\n';

let root: string;
let workspaces: string[];
const expected: Array<Map<string, string>> = [];

beforeAll(async () => {
  ensureDist();
  root = tempRoot('kill');
  workspaces = [join(root, 'ws-a'), join(root, 'ws-b')];
  modelWorkspace(workspaces[0], 'victim', VARIANT_A, bigOnnx(4, 'A'));
  modelWorkspace(workspaces[1], 'victim', VARIANT_B, bigOnnx(4, 'B'));
  writeFileSync(join(workspaces[1], 'models/victim/labels.txt'), 'zero\none\n');
  // The exact trees each variant builds, in repositories of their own.
  for (const [i, ws] of workspaces.entries()) {
    const ref = join(root, `ref-${i}`);
    await buildModel({ workspaceRoot: ws, specFile: 'models/victim/triton.yaml', repository: ref, resolveSpecFile: () => undefined });
    expected.push(snapshot(join(ref, 'victim')));
  }
  expect(changed(expected[0], expected[1])).toEqual(['1/model.onnx', 'config.pbtxt', 'labels.txt']);
});
afterAll(() => rmrf(root));

interface Run {
  child: ChildProcess;
  out: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startLoop(repository: string, start: number, count?: number): Run {
  const child = spawn(process.execPath, [CHILD, DIST, JSON.stringify({ workspaces, repository, start, count })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      out.push(line);
      if (line === 'ready') onReady();
    }
  });
  child.stderr!.on('data', (d: Buffer) => out.push(`stderr: ${d.toString()}`));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out, ready, exited };
}

/** The entry, compared with the two variants: which one it is byte for byte, or what differs. */
function whichVariant(entry: string): string {
  const got = snapshot(entry);
  if (got.size === 0) return 'missing';
  for (const [i, want] of expected.entries()) if (changed(want, got).length === 0) return `variant ${i}`;
  return `a mix: ${changed(expected[0], got).join(', ')} differ from variant 0; ${changed(expected[1], got).join(', ')} from variant 1`;
}

describe('a build killed with SIGKILL', () => {
  it('leaves the old entry or the new one, byte for byte, 20 times at random moments', async () => {
    const repository = join(root, 'repo-kill');
    await buildModel({ workspaceRoot: workspaces[0], specFile: 'models/victim/triton.yaml', repository, resolveSpecFile: () => undefined });
    const random = seeded(20240607);
    let interrupted = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      const run = startLoop(repository, attempt);
      await run.ready;
      await new Promise((r) => setTimeout(r, Math.floor(random() * 120)));
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe(null);
      expect(run.out.filter((l) => l.startsWith('error') || l.startsWith('stderr'))).toEqual([]);
      if (readdirSync(repository).some((n) => n.startsWith('.victim.'))) interrupted++;

      await recoverEntry(repository, 'victim');
      expect(readdirSync(repository)).toEqual(['victim']);
      expect(whichVariant(join(repository, 'victim'))).toMatch(/^variant [01]$/);
    }
    // The next build after all that: the new entry, and nothing else in the repository.
    await buildModel({ workspaceRoot: workspaces[1], specFile: 'models/victim/triton.yaml', repository, resolveSpecFile: () => undefined });
    expect(readdirSync(repository)).toEqual(['victim']);
    expect(whichVariant(join(repository, 'victim'))).toBe('variant 1');
    console.info(`robustness: ${interrupted}/20 kills landed mid-write (temp or old dirs left behind before recovery)`);
  });

  it('is repaired by the next build alone, without calling recovery', async () => {
    const repository = join(root, 'repo-next');
    await buildModel({ workspaceRoot: workspaces[0], specFile: 'models/victim/triton.yaml', repository, resolveSpecFile: () => undefined });
    const random = seeded(7);
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = startLoop(repository, attempt);
      await run.ready;
      await new Promise((r) => setTimeout(r, Math.floor(random() * 80)));
      run.child.kill('SIGKILL');
      await run.exited;
    }
    await buildModel({ workspaceRoot: workspaces[0], specFile: 'models/victim/triton.yaml', repository, resolveSpecFile: () => undefined });
    expect(readdirSync(repository)).toEqual(['victim']);
    expect(whichVariant(join(repository, 'victim'))).toBe('variant 0');
  });
});

describe('two builds of the same model at once', () => {
  it('both succeed, and the entry is one complete variant with nothing else around it', async () => {
    const repository = join(root, 'repo-race');
    const outside = snapshot(join(root, 'ws-a'));
    // Each process rebuilds 6 times, alternating variants, started together: their swaps interleave.
    const runs = [startLoop(repository, 0, 6), startLoop(repository, 1, 6)];
    const codes = await Promise.all(runs.map((r) => r.exited));
    const errors = runs.flatMap((r) => r.out.filter((l) => !/^(ready|built \d+)$/.test(l)));
    expect(errors).toEqual([]);
    expect(codes).toEqual([0, 0]);
    expect(readdirSync(repository)).toEqual(['victim']);
    expect(whichVariant(join(repository, 'victim'))).toMatch(/^variant [01]$/);
    // The sources the builds read (and hard-linked) are untouched.
    expect(changed(outside, snapshot(join(root, 'ws-a')))).toEqual([]);
  });
});
