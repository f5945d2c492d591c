import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runExport } from '../../lib/targets/export';
import { buildModel, type BuiltModel } from '../../lib/targets/build';
import { validateRepository } from '../../lib/repository/validate-repository';
import { loadSpec } from '../../lib/model-spec';
import { TORCH1_PYTHON } from '../pythons';
import { expectTritonServes, type InferCase } from '../triton-oracle';

/** An interpreter with torch, onnx and onnxruntime (the fidelity gate's): Debian's torch 1.13 plus onnxruntime. */
export const TORCH_PYTHON = TORCH1_PYTHON;

/** A fresh workspace under the system temp dir: `models/<name>/` projects, `dist/` outputs. */
export class Workspace {
  readonly root = mkdtempSync(join(tmpdir(), 'nx-triton-platforms-'));
  readonly repository = join(this.root, 'dist', 'model-repository');

  /** `python` runs the exports (the plugin's `python` option). */
  constructor(readonly python: string = TORCH_PYTHON) {}

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  projectDir(name: string): string {
    return join(this.root, 'models', name);
  }

  /** Writes `models/<name>/triton.yaml` and the given project files (text or bytes). */
  project(name: string, yaml: string, files: Record<string, string | Buffer> = {}): string {
    const dir = this.projectDir(name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'triton.yaml'), yaml);
    for (const [file, data] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), data);
    }
    return dir;
  }

  spec(name: string) {
    return loadSpec(join(this.projectDir(name), 'triton.yaml'), { displayPath: `models/${name}/triton.yaml` });
  }

  /** The export target, as `nx run <name>:export` runs it. */
  async export(name: string): Promise<string> {
    return (await runExport({ spec: this.spec(name), workspaceRoot: this.root, python: this.python })).outputPath;
  }

  /** The build target, as `nx run <name>:build` runs it. */
  build(name: string): Promise<BuiltModel> {
    return buildModel({
      workspaceRoot: this.root,
      specFile: join(this.projectDir(name), 'triton.yaml'),
      repository: 'dist/model-repository',
      resolveSpecFile: (model) => {
        const file = join(this.projectDir(model), 'triton.yaml');
        return existsSync(file) ? file : undefined;
      },
    });
  }

  /** export (when the project has one) then build. */
  async exportAndBuild(name: string): Promise<BuiltModel> {
    if (this.spec(name).export) await this.export(name);
    return this.build(name);
  }

  /** `nx-triton validate <repository>`: one line per problem. */
  async validate(): Promise<string[]> {
    return (await validateRepository(this.repository)).map((p) => `${p.model}: ${p.path}: ${p.message}`);
  }

  /** The repository served by the real tritonserver (test/triton-oracle.ts); `infer`: what its python models answer. */
  async triton(infer: Record<string, InferCase[]> = {}, pythonBackends?: Record<string, string>): Promise<string[]> {
    return (await expectTritonServes(this.repository, { infer, pythonBackends })).map((r) => `${r.model}: ${r.state}`);
  }
}

/** The message of the UserError a promise rejects with. */
export async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error) || !['UserError', 'SpecError'].includes(err.name)) {
    throw new Error(`expected a UserError, got ${err instanceof Error ? err.stack : String(err)}`);
  }
  return err.message;
}
