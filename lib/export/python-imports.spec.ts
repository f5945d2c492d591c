import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelModuleImports } from './python-imports';

const dir = mkdtempSync(join(tmpdir(), 'nx-triton-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), text);
}

describe('modelModuleImports', () => {
  it("reads the packages a model module imports, following the project's own modules, never running them", () => {
    write('net.py', 'import torch, numpy as np\nfrom transformers import AutoModel\nfrom layers.blocks import Block\nfrom . import nothing\nimport os.path\n\ndef build():\n    import timm\n    return None\n');
    write('layers/__init__.py', '');
    write('layers/blocks.py', 'from torchvision.ops import nms\nimport layers.more\n');
    write('layers/more.py', 'raise SystemExit("never run")\nimport einops\n');
    expect(modelModuleImports(dir, 'net:build')).toEqual(['einops', 'numpy', 'os', 'timm', 'torch', 'torchvision', 'transformers']);
  });

  it('names the package of a model that is not a project module', () => {
    expect(modelModuleImports(dir, 'torchvision.models:resnet18')).toEqual(['torchvision']);
  });

  it('stops at cycles and reads each module once', () => {
    write('a.py', 'import b\nimport timm\n');
    write('b.py', 'import a\nimport torch\n');
    expect(modelModuleImports(dir, 'a:build')).toEqual(['timm', 'torch']);
  });
});
