import { describe, expect, it } from 'vitest';
import { resolvePython } from './python';

describe('resolvePython', () => {
  it('takes NX_TRITON_PYTHON over the option, and python3 by default', () => {
    expect(resolvePython('/opt/py/bin/python', { NX_TRITON_PYTHON: '/usr/bin/python3' })).toBe('/usr/bin/python3');
    expect(resolvePython('/opt/py/bin/python', {})).toBe('/opt/py/bin/python');
    expect(resolvePython(undefined, {})).toBe('python3');
  });

  it('resolves a relative path from the workspace root (the export itself runs in the project directory)', () => {
    expect(resolvePython(undefined, { NX_TRITON_PYTHON: '.venv/bin/python' }, '/ws')).toBe('/ws/.venv/bin/python');
    expect(resolvePython('tools/py/bin/python', {}, '/ws')).toBe('/ws/tools/py/bin/python');
    // A bare name is a PATH lookup, left as it is.
    expect(resolvePython('python3.11', {}, '/ws')).toBe('python3.11');
  });
});
