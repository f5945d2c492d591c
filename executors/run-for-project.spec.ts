import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import buildExecutor from './build/executor';
import engineExecutor from './engine/executor';
import exportExecutor from './export/executor';

const root = mkdtempSync(join(tmpdir(), 'nx-triton-run-for-project-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let printed: string[] = [];
beforeEach(() => {
  printed = [];
  for (const method of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.NX_TRITON_PROGRESS_SECONDS;
});

/** The context Nx hands an executor, with the targets createNodes infers (outputs as in plugin/targets.ts). */
function context(name: string, targetName: string): ExecutorContext {
  const projectRoot = `models/${name}`;
  return {
    root,
    cwd: root,
    isVerbose: false,
    projectName: name,
    targetName,
    projectsConfigurations: {
      version: 2,
      projects: {
        [name]: {
          root: projectRoot,
          targets: {
            export: { outputs: [`{workspaceRoot}/dist/models/${name}/export`] },
            engine: { outputs: [`{workspaceRoot}/dist/models/${name}/engine`] },
            build: { outputs: [`{workspaceRoot}/dist/model-repository/${name}`] },
          },
        },
      },
    },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as ExecutorContext;
}

function model(name: string, yaml: string, files: Record<string, string> = {}): void {
  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'triton.yaml'), yaml);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
}

describe('--dry-run on every executor', () => {
  it('checks triton.yaml, says what the target would write, and runs and writes nothing', async () => {
    model('dry', 'platform: onnxruntime_onnx\nmax_batch_size: 8\nexport:\n  command: [python3, -c, "open(\'marker\', \'w\')"]\n');
    for (const [executor, target] of [
      [exportExecutor, 'export'],
      [buildExecutor, 'build'],
    ] as const) {
      printed = [];
      expect(await executor({ dryRun: true }, context('dry', target))).toEqual({ success: true });
      const where = target === 'build' ? 'dist/model-repository/dry' : 'dist/models/dry/export';
      expect(printed).toEqual([
        `nx-triton: --dry-run: models/dry/triton.yaml is valid; ${target} of dry would write ${where} (nothing was run or written)`,
      ]);
    }
    expect(existsSync(join(root, 'models/dry/marker'))).toBe(false);
    expect(existsSync(join(root, 'dist'))).toBe(false);
  });

  it('reports a bad triton.yaml with its line, as a real run would', async () => {
    model('dry_trt', 'platform: tensorrt_plan\nfrom: nothing\ntensorrt: { precision: fp17 }\n');
    expect(await engineExecutor({ dryRun: true }, context('dry_trt', 'engine'))).toEqual({ success: false });
    expect(printed.join('\n')).toMatch(/^models\/dry_trt\/triton\.yaml:3:13: tensorrt\.precision: unknown precision "fp17"/);
  });
});

describe('progress of long steps', () => {
  it('an export prints when it starts, while it runs, and how long it took', async () => {
    process.env.NX_TRITON_PROGRESS_SECONDS = '0.2';
    const script = 'import sys, time; time.sleep(0.9); open(sys.argv[1], "w").write("class TritonPythonModel: pass\\n")';
    model('slow', `backend: python\nexport:\n  command: [python3, -c, '${script}', "{output}"]\n`);
    expect(await exportExecutor({ python: 'python3' }, context('slow', 'export'))).toEqual({ success: true });
    expect(printed[0]).toBe('nx-triton: export slow...');
    const running = printed.filter((l) => l.startsWith('nx-triton: export slow: still running, '));
    expect(running.length).toBeGreaterThanOrEqual(2);
    for (const line of running) expect(line).toMatch(/, (\d+ms|\d+\.\ds) elapsed$/);
    expect(printed[printed.length - 1]).toMatch(/^nx-triton: export slow: done in \d+\.\ds$/);
  });
});
