import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TORCHSCRIPT_SIGNATURE_FILE, VERIFY_RECORD_FILE } from '../layout';
import { exportCompanions } from './version-files';
import { writeModelEntry } from './write-entry';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nx-triton-version-files-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function put(path: string, content = 'x'): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (statSync(join(d, name)).isDirectory()) walk(join(d, name), `${rel}${name}/`);
      else out.push(`${rel}${name}`);
    }
  };
  walk(dir, '');
  return out;
}

const PYTHON_VERSION = ['model.py', 'helpers.py', '.env', 'assets/.hidden', '__pycache__/model.cpython-311.pyc', 'stale.pyc'];

describe('one rule for what a version directory gets (issue 22, N8 and N20)', () => {
  it('the newest version (from the export) and an older one (previous_versions) hold the same files', async () => {
    // The export of a python model directory, with nx-triton's own notes beside it, and the same files as an older version.
    for (const f of PYTHON_VERSION) {
      put(`export/${f}`);
      put(`old/${f}`);
    }
    put(`export/${TORCHSCRIPT_SIGNATURE_FILE}`);
    put(`export/${VERIFY_RECORD_FILE}`);
    const model = join(root, 'export/model.py');
    await writeModelEntry({
      repository: join(root, 'repo'),
      name: 'py',
      configText: 'backend: "python"\n',
      versions: [
        { version: 2, files: [{ src: model, dest: 'model.py' }, ...exportCompanions(model)] },
        { version: 1, from: join(root, 'old') },
      ],
    });
    const expected = ['.env', 'assets/.hidden', 'helpers.py', 'model.py'];
    expect(tree(join(root, 'repo/py/2'))).toEqual(expected);
    expect(tree(join(root, 'repo/py/1'))).toEqual(expected);
  });
});
