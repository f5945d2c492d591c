import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaText } from '../lib/schema/build';
import { distPath, ensureDist } from '../test/dist';

beforeAll(() => ensureDist());

describe('nx-triton schema', () => {
  it('prints the JSON Schema of triton.yaml, the text of schemas/triton.schema.json', () => {
    const r = spawnSync(process.execPath, [distPath('cli/main.js'), 'schema'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(schemaText());
    expect(JSON.parse(r.stdout).properties.instance_group.items.$ref).toBe('#/definitions/inference.ModelInstanceGroup');
  });

  it('takes no arguments', () => {
    const r = spawnSync(process.execPath, [distPath('cli/main.js'), 'schema', '--yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('nx-triton schema: takes no arguments (got --yaml)\n');
  });

  it('is listed in the usage', () => {
    const r = spawnSync(process.execPath, [distPath('cli/main.js'), '--help'], { encoding: 'utf8' });
    expect(r.stdout).toContain('nx-triton schema   print the JSON Schema of triton.yaml (for editors)');
  });
});
