import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { runExportTarget } from './export';

const ws = mkdtempSync(join(tmpdir(), 'nx-triton-export-target-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));

describe('the export target', () => {
  it('judges the config rules that need no model file before any export starts (no interpreter is even looked for)', async () => {
    mkdirSync(join(ws, 'models/big'), { recursive: true });
    writeFileSync(
      join(ws, 'models/big/triton.yaml'),
      'platform: onnxruntime_onnx\nmax_batch_size: 8\ndynamic_batching: { preferred_batch_size: [4, 16] }\nexport:\n  torch: { model: net:build }\n',
    );
    const project = { workspaceRoot: ws, specFile: join(ws, 'models/big/triton.yaml'), resolveSpecFile: () => undefined, log: () => undefined };
    const message = await userErrorMessage(runExportTarget({ ...project, python: join(ws, 'no-such-python') }));
    expect(message).toBe('models/big/triton.yaml:3:47: dynamic_batching.preferred_batch_size[1]: preferred batch size 16 exceeds max_batch_size 8');
    expect(existsSync(join(ws, 'dist/models/big'))).toBe(false);
  });
});
