import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON_PACKAGES } from './python-packages';

describe('python/requirements.txt', () => {
  it('lists every package of the table at its minimum (the optional ones as comments), and nothing else', () => {
    const text = readFileSync(join(__dirname, '../../python/requirements.txt'), 'utf8');
    const required = text.split('\n').filter((l) => /^[a-z]/i.test(l));
    const optional = text.split('\n').flatMap((l) => (/^# [a-z][\w-]*>=/.test(l) ? [l.slice(2)] : []));
    expect(required).toEqual(PYTHON_PACKAGES.filter((p) => !p.optional).map((p) => `${p.name}>=${p.minimum}`));
    expect(optional).toEqual(PYTHON_PACKAGES.filter((p) => p.optional).map((p) => `${p.name}>=${p.minimum}`));
  });

  it('ships in the package', () => {
    const files = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).files as string[];
    expect(files).toContain('python/requirements.txt');
  });
});
