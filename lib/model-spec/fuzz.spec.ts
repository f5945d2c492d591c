import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SpecError } from '../errors';
import { DISPLAY, FULL, makeProject, TRT } from './__fixtures__/project';
import { parseSpec } from './load';

const PER_CASE_MS = 1000;

let project: ReturnType<typeof makeProject>;
beforeAll(() => {
  project = makeProject();
  // Both seeds load as they are: the mutations start from valid specs.
  parseSpec(FULL, DISPLAY, project.dir);
  parseSpec(TRT, DISPLAY, project.dir);
});
afterAll(() => project.cleanup());

/** Loads or throws a SpecError whose every diagnostic names the file and a line; anything else fails. */
function loadsOrExplains(input: string | Uint8Array): 'loaded' | 'refused' {
  const start = performance.now();
  let outcome: 'loaded' | 'refused' = 'loaded';
  try {
    const spec = parseSpec(input, DISPLAY, project.dir);
    expect(typeof spec.name).toBe('string');
    expect(spec.config.name).toBe(spec.name);
  } catch (err) {
    outcome = 'refused';
    if (!(err instanceof SpecError)) throw err;
    expect(err.diagnostics.length).toBeGreaterThan(0);
    for (const d of err.diagnostics) {
      expect(d.file).toBe(DISPLAY);
      expect(Number.isInteger(d.line) && (d.line as number) >= 1).toBe(true);
    }
  }
  expect(performance.now() - start).toBeLessThan(PER_CASE_MS);
  return outcome;
}

const YAML_BITS = [
  ':', ' ', '  ', '\n', '- ', '[', ']', '{', '}', ',', '&a ', '*a', '!!str ', '!x ', '"', "'", '#', '|', '>', '~',
  'null', 'true', 'yes', '0x1F', '-1', '1e400', '99999999999999999999999', '.nan', 'platform', 'max_batch_size',
  'input', 'dims', 'name', 'data_type', 'fp32', 'kind', 'gpu', 'instance_group', 'export', 'torch', 'model',
  'command', 'file', 'from', 'tensorrt', 'version', 'previous_versions', 'dynamic_batching', 'version_policy',
  'all', 'latest', '\t', '\u00e9', '\u0000', '---', '...', '%YAML 1.2', '<<', '?',
];

const yamlish = fc.array(fc.constantFrom(...YAML_BITS), { maxLength: 120 }).map((parts) => parts.join(''));

type Mutation = (text: string) => string | Uint8Array;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => (text: string) => {
    const bytes = Buffer.from(text);
    bytes[at % bytes.length] = byte;
    return bytes;
  }),
  fc.nat().map((at) => (text: string) => text.slice(0, at % (text.length + 1))),
  fc
    .record({ line: fc.nat(), key: fc.constantFrom(...YAML_BITS, 'zzz', 'max_batch_size', 'input'), value: yamlish })
    .map(({ line, key, value }) => (text: string) => {
      const lines = text.split('\n');
      const at = line % (lines.length + 1);
      const indent = (lines[at] ?? '').match(/^ */)?.[0] ?? '';
      lines.splice(at, 0, `${indent}${key}: ${value}`);
      return lines.join('\n');
    }),
  fc.record({ line: fc.nat(), depth: fc.integer({ min: 1, max: 400 }), flow: fc.boolean() }).map(
    ({ line, depth, flow }) =>
      (text: string) => {
        const lines = text.split('\n');
        const nested = flow ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
        lines.splice(line % (lines.length + 1), 0, `kwargs: ${nested}`);
        return lines.join('\n');
      },
  ),
  fc.record({ digits: fc.integer({ min: 1, max: 400 }), nth: fc.nat(), sign: fc.constantFrom('', '-') }).map(
    ({ digits, nth, sign }) =>
      (text: string) => {
        let i = 0;
        const count = (text.match(/\b\d+\b/g) ?? []).length || 1;
        return text.replace(/\b\d+\b/g, (m) => (i++ === nth % count ? `${sign}${'9'.repeat(digits)}` : m));
      },
  ),
  fc.record({ from: fc.nat(), to: fc.nat() }).map(({ from, to }) => (text: string) => {
    const lines = text.split('\n');
    const line = lines[from % lines.length];
    lines.splice(to % (lines.length + 1), 0, line);
    return lines.join('\n');
  }),
  fc.nat().map((at) => (text: string) => {
    const lines = text.split('\n');
    lines.splice(at % lines.length, 1);
    return lines.join('\n');
  }),
);

describe('fuzz: parseSpec never fails any other way', () => {
  test('random YAML-ish text', () => {
    fc.assert(fc.property(yamlish, (text) => void loadsOrExplains(text)), { seed: 20240611, numRuns: 400 });
  });

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void loadsOrExplains(bytes)),
      { seed: 7, numRuns: 200 },
    );
  });

  test('mutations of valid specs', () => {
    const outcomes = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(fc.constantFrom(FULL, TRT), fc.array(mutation, { minLength: 1, maxLength: 3 }), (seed, mutations) => {
        let input: string | Uint8Array = seed;
        for (const m of mutations) input = m(typeof input === 'string' ? input : Buffer.from(input).toString('latin1'));
        outcomes[loadsOrExplains(input)]++;
      }),
      { seed: 424242, numRuns: 600 },
    );
    // Both sides are exercised: some mutations keep the spec valid, most break it.
    expect(outcomes.loaded).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
