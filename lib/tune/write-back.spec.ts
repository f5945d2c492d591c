import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SLEEPY_TRITON_YAML } from '../../test/python-models';
import { parseSpec } from '../model-spec';
import type { ModelConfig } from '../model-config';
import { searchSpace, type Knobs } from './candidates';
import { applyChanges, changeText, checkEdited, plannedChanges, writeSpecAtomically, writtenConfig } from './write-back';

// The winner goes into triton.yaml as an edit of the keys that changed, every other byte kept.

const IO = { input: [{ name: 'X', data_type: 'TYPE_FP32' as const, dims: [4] }], output: [{ name: 'Y', data_type: 'TYPE_FP32' as const, dims: [4] }] };
const here = { hasGpu: false, maxConcurrency: 16, latencyBudgetMs: 100 };

/** The edit of `yaml` (whose built config is `built`) to the winner `winner(baseline)`. */
function edit(yaml: string, built: ModelConfig, winner: (k: Knobs) => Knobs) {
  const space = searchSpace('m', built, here);
  const win = winner(space.baseline);
  const changes = plannedChanges(space, win);
  const applied = applyChanges(yaml, changes, writtenConfig(space, win));
  return { changes: changes.map(changeText), ...applied };
}

/** The config triton.yaml's text stands for. */
function configOf(text: string): ModelConfig {
  return parseSpec(text, 'models/m/triton.yaml', '/ws/models/m', { checkFiles: false }).config;
}

const FLOW = `# models/sleepy/triton.yaml: 20 ms per execute() call, whatever the batch
backend: python            # the python backend
max_batch_size: 16

input:  [{ name: X, data_type: fp32, dims: [4] }]
output: [{ name: Y, data_type: fp32, dims: [4] }]
instance_group: [{ kind: cpu, count: 1 }]   # one instance

# how the model file is made
export: { file: model.py }
`;
const FLOW_BUILT: ModelConfig = { name: 'm', backend: 'python', max_batch_size: 16, ...IO, instance_group: [{ kind: 'KIND_CPU', count: 1 }] };

describe('the winner written into triton.yaml', () => {
  it('changes only the changed keys: a new key where config.pbtxt puts it, a count in place; comments and alignment stay', () => {
    const r = edit(FLOW, FLOW_BUILT, (k) => ({ ...k, batching: true, count: 3 }));
    expect(r.changes).toEqual(['dynamic_batching: {}', 'instance_group[0].count: 3']);
    expect(r.text).toBe(FLOW.replace('instance_group: [{ kind: cpu, count: 1 }]', 'dynamic_batching: {}\ninstance_group: [{ kind: cpu, count: 3 }]'));
    expect(configOf(r.text)).toMatchObject({ dynamic_batching: {}, instance_group: [{ kind: 'KIND_CPU', count: 3 }] });
    expect(r.skipped).toEqual([]);
  });

  it('edits a block map in place: a value replaced, a key removed, a key added under the last one', () => {
    const yaml = [
      'backend: python',
      'max_batch_size: 8   # clients send up to 8',
      'dynamic_batching:',
      '  preferred_batch_size:',
      '    - 4',
      '    - 8',
      '  max_queue_delay_microseconds: 100   # a tenth of a ms',
      'instance_group:',
      '  - kind: cpu',
      '    count: 2          # two',
      '',
    ].join('\n');
    const built: ModelConfig = { name: 'm', backend: 'python', max_batch_size: 8, ...IO, dynamic_batching: { preferred_batch_size: [4, 8], max_queue_delay_microseconds: 100 }, instance_group: [{ kind: 'KIND_CPU', count: 2 }] };
    const r = edit(yaml, built, (k) => ({ ...k, preferred: [], delayUs: 500, count: 4, maxBatchSize: 16 }));
    expect(r.changes).toEqual(['max_batch_size: 16', 'dynamic_batching.preferred_batch_size: removed', 'dynamic_batching.max_queue_delay_microseconds: 500', 'instance_group[0].count: 4']);
    expect(r.text).toBe(
      [
        'backend: python',
        'max_batch_size: 16  # clients send up to 8',
        'dynamic_batching:',
        '  max_queue_delay_microseconds: 500   # a tenth of a ms',
        'instance_group:',
        '  - kind: cpu',
        '    count: 4          # two',
        '',
      ].join('\n'),
    );
    const back = edit(r.text, { ...built, max_batch_size: 16, dynamic_batching: { max_queue_delay_microseconds: 500 } }, (k) => ({ ...k, preferred: [8, 16] }));
    expect(back.text).toContain('  max_queue_delay_microseconds: 500   # a tenth of a ms\n  preferred_batch_size: [ 8, 16 ]\ninstance_group:');
  });

  it('keeps each comment at its column when a value grows or shrinks, with one space at least (CI: count 1 -> 16 moved "# one of them")', () => {
    const yaml = readFileSync(SLEEPY_TRITON_YAML, 'utf8');
    const built: ModelConfig = { name: 'm', backend: 'python', max_batch_size: 16, ...IO, instance_group: [{ kind: 'KIND_CPU', count: 1 }] };
    const r = edit(yaml, built, (k) => ({ ...k, batching: true, count: 16, maxBatchSize: 8 }));
    expect(r.changes).toEqual(['max_batch_size: 8', 'dynamic_batching: {}', 'instance_group[0].count: 16']);
    const lines = r.text.split('\n');
    for (const line of yaml.split('\n').filter((l) => l.includes(' #'))) {
      const comment = line.slice(line.indexOf('#'));
      expect(lines.find((l) => l.endsWith(comment))?.indexOf('#'), comment).toBe(line.indexOf('#'));
    }
    expect(lines.filter((l) => /^( {4}count|max_batch_size): /.test(l)).map((l) => l.replace(/ +#.*/, ''))).toEqual(['max_batch_size: 8', '    count: 16']);
    const flow = edit(FLOW, FLOW_BUILT, (k) => ({ ...k, count: 1000 }));
    expect(flow.text).toContain('instance_group: [{ kind: cpu, count: 1000 }] # one instance\n');
  });

  it('adds a key to a flow map inside its braces, and removes a whole dynamic_batching block', () => {
    const yaml = 'backend: python\nmax_batch_size: 4\ndynamic_batching:\n  max_queue_delay_microseconds: 100\n\ninstance_group: [ { kind: cpu } ]  # c\n';
    const built: ModelConfig = { name: 'm', backend: 'python', max_batch_size: 4, ...IO, dynamic_batching: { max_queue_delay_microseconds: 100 }, instance_group: [{ kind: 'KIND_CPU' }] };
    const r = edit(yaml, built, (k) => ({ ...k, batching: false, count: 2 }));
    expect(r.text).toBe('backend: python\nmax_batch_size: 4\n\ninstance_group: [ { kind: cpu, count: 2 } ]  # c\n');
  });

  it('writes a key that triton.yaml inherits through from: as a whole (from: merges top-level keys), and cannot remove one', () => {
    const built: ModelConfig = { name: 'm', backend: 'python', max_batch_size: 8, ...IO, instance_group: [{ kind: 'KIND_CPU', count: 1, host_policy: 'numa0' }], dynamic_batching: {} };
    const text = 'from: my_nn\nbackend: python\n';
    const r = edit(text, built, (k) => ({ ...k, count: 2, batching: false }));
    expect(r.text).toBe('from: my_nn\nbackend: python\ninstance_group: [ { kind: cpu, count: 2, host_policy: numa0 } ]\n');
    expect(r.skipped.map((s) => `${changeText(s.change)}: ${s.why}`)).toEqual([
      'dynamic_batching: removed: triton.yaml does not set dynamic_batching (it comes from the model named by from:); change it there',
    ]);
  });

  it('puts a new top-level key before the plugin keys when no config key follows it, and before the comments above that key', () => {
    const yaml = 'backend: python\nmax_batch_size: 8\n\n# the model file\n# comes from here\nexport: { file: model.py }\n';
    const built: ModelConfig = { name: 'm', backend: 'python', max_batch_size: 8, ...IO };
    const space = searchSpace('m', built, { ...here, hasGpu: true });
    const win = { ...space.baseline, batching: true, delayUs: 100 };
    const r = applyChanges(yaml, plannedChanges(space, win), writtenConfig(space, win));
    expect(r.text).toBe('backend: python\nmax_batch_size: 8\n\ndynamic_batching: { max_queue_delay_microseconds: 100 }\n# the model file\n# comes from here\nexport: { file: model.py }\n');
    checkEdited(r.text, 'models/m/triton.yaml', plannedChanges(space, win));
    expect(() => checkEdited(r.text, 'models/m/triton.yaml', [{ path: ['dynamic_batching', 'max_queue_delay_microseconds'], value: 500 }])).toThrow(
      'nx-triton: tune: the edited models/m/triton.yaml says dynamic_batching.max_queue_delay_microseconds: 100, not 500 (a bug of nx-triton; the file is left as it was)',
    );
  });

  it('plans nothing when the winner is the built config, and never writes a count measured on CPU for GPU instances', () => {
    expect(plannedChanges(searchSpace('m', FLOW_BUILT, here), searchSpace('m', FLOW_BUILT, here).baseline)).toEqual([]);
    const gpu = searchSpace('m', { ...FLOW_BUILT, instance_group: [{ kind: 'KIND_GPU', count: 2 }] }, here);
    const changes = plannedChanges(gpu, { ...gpu.baseline, batching: true });
    expect(changes.map(changeText)).toEqual(['dynamic_batching: {}']);
    expect(writtenConfig(gpu, gpu.baseline).instance_group).toEqual([{ kind: 'KIND_GPU', count: 2 }]);
  });
});

describe('writeSpecAtomically', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nx-triton-write-back-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces the file by rename, keeps its mode, and leaves no temporary file', () => {
    const file = join(dir, 'triton.yaml');
    writeFileSync(file, FLOW, { mode: 0o640 });
    writeSpecAtomically(file, 'backend: python\n');
    expect(readFileSync(file, 'utf8')).toBe('backend: python\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['triton.yaml']);
  });
});
