import { describe, expect, test } from 'vitest';
import { checkModelName } from './model-name';
import { closest } from './suggest';
import { workspaceMiB } from './tensorrt';

describe('checkModelName', () => {
  test.each(['my_nn', 'resnet-50', 'model.v2', 'ensemble 1', 'ünïcode'])('%s is legal', (name) => {
    expect(checkModelName(name)).toBeUndefined();
  });
  test.each([
    ['', 'a model name cannot be empty'],
    ['.', 'a model name cannot be "."'],
    ['..', 'a model name cannot be ".."'],
    ['a/b', 'a model name cannot contain "/" or "\\" (got "a/b")'],
    ['a\\b', 'a model name cannot contain "/" or "\\" (got "a\\\\b")'],
    ['a\u0000b', 'a model name cannot contain control characters (got "a\\u0000b")'],
    ['tab\t', 'a model name cannot contain control characters (got "tab\\t")'],
    [' x', 'a model name cannot start or end with whitespace (got " x")'],
    ['x ', 'a model name cannot start or end with whitespace (got "x ")'],
  ])('%j is refused', (name, why) => {
    expect(checkModelName(name)).toBe(why);
  });

  // Issue 22, N3: the name is part of the targets' Nx outputs, where these make a glob or a template
  // (`*` made one model's outputs every model's). Triton 2.51 (nvidia-pytriton 0.7.0) loads python
  // models named a*b, c[1], d?e and {x}: run 2026-12-06, all four READY in /v2/repository/index.
  test.each(['*', 'a*b', 'c[1]', 'd?e', '{x}', '{options.zzz ?? ..}', 'a,{b,c}', '!(x)', 'f(1)'])('%j, a glob or template in Nx outputs, is refused', (name) => {
    expect(checkModelName(name)).toMatch(/^a model name cannot contain "[*?[\]{}()!]" \(got .*\): the name is part of the Nx outputs of its targets, where \* \? \[ \] \{ \} \( \) ! make a glob or a template over other models \(Triton takes such names; nx-triton does not\)$/);
  });

  // Issue 22, F11: C1 controls (U+009B is a terminal's CSI) and bidi controls reorder or rewrite the
  // line a name is printed in; they are refused as C0 controls are, and shown escaped.
  test.each([
    ['a\u009bb', 'a model name cannot contain control characters (got "a\\u009bb")'],
    ['abc\u202edcba', 'a model name cannot contain control characters (got "abc\\u202edcba")'],
    ['x\u2066y', 'a model name cannot contain control characters (got "x\\u2066y")'],
    ['x\u2028y', 'a model name cannot contain control characters (got "x\\u2028y")'],
  ])('%j (C1 or bidi control) is refused, shown escaped', (name, why) => {
    expect(checkModelName(name)).toBe(why);
  });
});

describe('closest (did you mean)', () => {
  const keys = ['max_batch_size', 'platform', 'backend', 'instance_group', 'input', 'output'];
  test('typos, case and camelCase find the key', () => {
    expect(closest('max_bach_size', keys)).toBe('max_batch_size');
    expect(closest('maxBatchSize', keys)).toBe('max_batch_size');
    expect(closest('PLATFORM', keys)).toBe('platform');
    expect(closest('inputs', keys)).toBe('input');
  });
  test('nothing close, nothing suggested', () => {
    expect(closest('weights', keys)).toBeUndefined();
    expect(closest('x'.repeat(1000), keys)).toBeUndefined();
  });
});

describe('workspaceMiB', () => {
  test.each([
    [512, 512],
    ['512', 512],
    ['512MiB', 512],
    ['4GiB', 4096],
    ['4 G', 4096],
    ['1.5GB', 1536],
    ['2048KiB', 2],
  ] as const)('%j -> %d MiB', (value, mib) => {
    expect(workspaceMiB(value)).toBe(mib);
  });
  test.each(['', '4 gigs', '-1', '0', 'GiB'])('%j is not a size', (value) => {
    expect(workspaceMiB(value)).toBeUndefined();
  });
});
