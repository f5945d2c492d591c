import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { DEBIAN_PYTHON, requirePython, VENV_PYTHON } from '../../test/pythons';
import { UserError } from '../errors';
import type { OnnxSignature } from './types';
import { readOnnxSignature } from './read-signature';
import { bytes, entry, external, int, key, lenPrefix, msg, opset, str, tensor, valueInfo } from '../../test/onnx-bytes';

const SCRIPT = join(__dirname, '..', '..', 'test', 'onnx-testdata.py');
const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, ...parts: Buffer[]): string {
  const file = join(tmp, name);
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

/** What the onnx package (Debian's 1.12, or .venv's newer one) reads from each file. */
function onnxReads(files: string[], python = DEBIAN_PYTHON): OnnxSignature[] {
  const out = execFileSync(requirePython(python), [SCRIPT, 'dump'], { input: JSON.stringify(files) });
  return JSON.parse(out.toString('utf8')).map((r: { ok: boolean; signature: OnnxSignature; error: string }) => {
    if (!r.ok) throw new Error(r.error);
    return r.signature;
  });
}

function failure(file: string): Promise<string> {
  return userErrorMessage(readOnnxSignature(file));
}

describe('readOnnxSignature', () => {
  it('reads everything a hand-written model declares, as the onnx package does', async () => {
    const file = write(
      'handmade.onnx',
      int(1, 3),
      str(2, 'handmade'),
      str(3, '0.1'),
      opset('', 11),
      opset('com.microsoft', 1),
      // an unknown group field, as an old writer might leave behind
      Buffer.from([...key(50, 3), ...int(1, 5), ...key(50, 4)]),
      msg(
        7,
        msg(1, str(1, 'x'), str(2, 'y'), str(4, 'Relu')), // a node: skipped
        str(2, 'g'),
        tensor(5, 'w', bytes(9, Buffer.alloc(8))),
        tensor(5, 'ext_a', ...external('weights/a.bin')),
        tensor(5, 'ext_b', ...external('weights/b.bin')),
        tensor(5, 'ext_a2', ...external('weights/a.bin')),
        tensor(5, 'not_external', entry(13, 'location', 'ignored.bin')),
        msg(15, tensor(1, 's', ...external('sparse.bin')), tensor(2, 's_idx')),
        valueInfo(11, 'input', 1, ['batch', 3, null, 224]),
        valueInfo(11, 'w', 1, [2]), // an IR 3 model lists its initializers as inputs
        valueInfo(11, 's', 1, [2]),
        valueInfo(11, 'scalar', 7, []),
        valueInfo(11, 'no_shape', 10, null),
        valueInfo(11, 'negative', 6, [-1, 2 ** 40]),
        Buffer.from([...key(99, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...key(98, 5), 1, 2, 3, 4]),
        msg(12, str(1, 'seq'), msg(2, msg(4, msg(1, msg(1, int(1, 1)))))),
      ),
      // a second occurrence of `graph` merges into the first
      msg(7, valueInfo(12, 'out', 16, ['batch', 1000])),
    );
    const expected: OnnxSignature = {
      irVersion: 3,
      opsets: [
        { domain: '', version: 11 },
        { domain: 'com.microsoft', version: 1 },
      ],
      producerName: 'handmade',
      producerVersion: '0.1',
      graphName: 'g',
      inputs: [
        { name: 'input', elemType: 1, shape: ['batch', 3, null, 224] },
        { name: 'scalar', elemType: 7, shape: [] },
        { name: 'no_shape', elemType: 10, shape: null },
        { name: 'negative', elemType: 6, shape: [-1, 2 ** 40] },
      ],
      overridableInputs: [
        { name: 'w', elemType: 1, shape: [2] },
        { name: 's', elemType: 1, shape: [2] },
      ],
      outputs: [
        { name: 'seq', elemType: 0, shape: null },
        { name: 'out', elemType: 16, shape: ['batch', 1000] },
      ],
      externalData: ['weights/a.bin', 'weights/b.bin', 'sparse.bin'],
    };
    expect(await readOnnxSignature(file)).toEqual(expected);
    expect(onnxReads([file])).toEqual([expected]);
  });

  it('lists the external data files the onnx package writes, and reads the directory form', async () => {
    const oneFile = join(tmp, 'one-file', 'model.onnx');
    const perTensor = join(tmp, 'per-tensor');
    mkdirSync(oneFile, { recursive: true });
    mkdirSync(perTensor);
    execFileSync('/usr/bin/python3', [SCRIPT, 'make-external', oneFile, 'one-file']);
    execFileSync('/usr/bin/python3', [SCRIPT, 'make-external', perTensor, 'per-tensor']);

    // Triton's form: model.onnx/ is a directory holding model.onnx and its data
    const fromDir = await readOnnxSignature(oneFile);
    expect(fromDir.externalData).toEqual(['weights.bin']);
    expect(fromDir.inputs).toEqual([{ name: 'x', elemType: 1, shape: ['batch', 64] }]);
    expect(fromDir.outputs).toEqual([{ name: 'y', elemType: 1, shape: ['batch', 64] }]);
    expect(fromDir).toEqual(await readOnnxSignature(join(oneFile, 'model.onnx')));

    const split = await readOnnxSignature(join(perTensor, 'model.onnx'));
    expect(split.externalData).toEqual(['w1', 'w2']);
    expect([fromDir, split]).toEqual(onnxReads([join(oneFile, 'model.onnx'), join(perTensor, 'model.onnx')]));
  });

  it('lists initializers that are also graph inputs as overridable inputs, apart from the inputs', async () => {
    // onnxruntime calls them overridable initializers; Triton's onnxruntime backend takes them as
    // optional request inputs (onnxruntime_backend src/onnxruntime.cc, ModelInstanceState::ValidateInputs).
    const file = join(tmp, 'initializer-input.onnx');
    execFileSync('/usr/bin/python3', [SCRIPT, 'make-initializer-input', file]);
    const sig = await readOnnxSignature(file);
    expect(sig.inputs).toEqual([{ name: 'x', elemType: 1, shape: [4] }]);
    expect(sig.overridableInputs).toEqual([{ name: 'bias', elemType: 1, shape: [4] }]);
    expect([sig]).toEqual(onnxReads([file]));
  });

  it('lists external data at any depth: If branches, a Loop body, Constant and sparse Constant nodes', async () => {
    const dir = join(tmp, 'nested');
    mkdirSync(dir);
    execFileSync('/usr/bin/python3', [SCRIPT, 'make-nested', dir, '1']);
    const file = join(dir, 'model.onnx');
    const sig = await readOnnxSignature(file);
    expect(sig.externalData).toEqual(['else.bin', 'loop.bin', 'sparse.bin', 'then.bin']);
    expect(sig.inputs.map((i) => i.name)).toEqual(['cond', 'x']);
    expect([sig]).toEqual(onnxReads([file]));
  });

  it('lists external data of tensors in functions, training info and attribute lists', async () => {
    const tensorField = (field: number, name: string, location: string) => tensor(field, name, ...external(location));
    const attr = (...parts: Buffer[]) => msg(5, str(1, 'a'), ...parts);
    const subgraph = (field: number, ...nodes: Buffer[]) => msg(field, ...nodes.map((n) => msg(1, n)));
    const file = write(
      'everywhere.onnx',
      int(1, 8),
      opset('', 13),
      msg(
        7,
        str(2, 'g'),
        msg(1, attr(tensorField(10, 'listed', 'tensors.bin'))), // AttributeProto.tensors
        msg(1, attr(subgraph(11, attr(tensorField(5, 'in_graphs', 'graphs.bin'))))), // .graphs
        msg(1, attr(msg(23, tensorField(1, 'sv', 'sparse-list.bin'), tensorField(2, 'si', 'sparse-idx.bin')))), // .sparse_tensors
        valueInfo(11, 'x', 1, [1]),
      ),
      msg(20, subgraph(1, attr(tensorField(5, 'init', 'training.bin')))), // TrainingInfoProto.initialization
      msg(25, str(1, 'f'), msg(7, attr(tensorField(5, 'fn', 'function.bin'))), msg(11, str(1, 'd'), tensorField(5, 'default', 'default.bin'))),
    );
    const want = ['tensors.bin', 'graphs.bin', 'sparse-list.bin', 'sparse-idx.bin', 'training.bin', 'function.bin', 'default.bin'];
    expect((await readOnnxSignature(file)).externalData).toEqual(want);
    // FunctionProto.attribute_proto is newer than Debian's onnx 1.12
    expect(onnxReads([file], VENV_PYTHON)[0].externalData).toEqual(want);
  });

  it('reads a model over 4 GiB in milliseconds without reading its weights', async () => {
    const file = join(tmp, 'big.onnx');
    const weightBytes = 5 * 2 ** 30 + 3;
    const tail = Buffer.concat([valueInfo(11, 'images', 1, ['batch', 3, 640, 640]), valueInfo(12, 'boxes', 1, ['batch', 'n', 4])]);
    const initializerHead = Buffer.concat([int(1, 1), int(2, 1), str(8, 'huge'), lenPrefix(9, weightBytes)]);
    const initializerLength = initializerHead.length + weightBytes;
    const graphHead = Buffer.concat([str(2, 'big'), lenPrefix(5, initializerLength)]);
    const graphLength = graphHead.length + initializerLength + tail.length;
    const head = Buffer.concat([int(1, 8), opset('', 17), lenPrefix(7, graphLength), graphHead, initializerHead]);

    const fh = await open(file, 'w');
    try {
      await fh.write(head, 0, head.length, 0);
      // the weights are a hole: the file is sparse, its size is over 5 GiB
      await fh.write(tail, 0, tail.length, head.length + weightBytes);
    } finally {
      await fh.close();
    }

    await readOnnxSignature(file); // warm up the module code paths
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const sig = await readOnnxSignature(file);
    const ms = performance.now() - started;
    const grown = process.memoryUsage().rss - rss;

    expect(sig.inputs).toEqual([{ name: 'images', elemType: 1, shape: ['batch', 3, 640, 640] }]);
    expect(sig.outputs).toEqual([{ name: 'boxes', elemType: 1, shape: ['batch', 'n', 4] }]);
    expect(sig.graphName).toBe('big');
    expect(grown).toBeLessThan(100 * 2 ** 20);
    expect(ms).toBeLessThan(250);
  });

  describe('bad files', () => {
    const sample = Buffer.concat([
      int(1, 8),
      msg(7, str(2, 'g'), valueInfo(11, 'x', 1, [1, 2]), valueInfo(12, 'y', 1, [1, 2])),
      opset('', 13),
    ]);
    const graphAt = int(1, 8).length;

    it('says where a model is cut off', async () => {
      for (const cut of [graphAt + 1, graphAt + 2, graphAt + 10, sample.length - opset('', 13).length - 1]) {
        const file = write('cut.onnx', sample.subarray(0, cut));
        expect(await failure(file)).toBe(`${file}: not an ONNX model: truncated field at byte ${graphAt}`);
      }
    });

    it('gives a UserError naming the file for every prefix of a model, never a crash', async () => {
      for (let cut = 0; cut < sample.length; cut++) {
        const file = write('prefix.onnx', sample.subarray(0, cut));
        const outcome = await readOnnxSignature(file).then(
          () => 'read',
          (e: unknown) => (e instanceof UserError && e.message.startsWith(`${file}: not an ONNX model: `) ? 'refused' : e),
        );
        expect(['read', 'refused']).toContain(outcome);
      }
    });

    it('refuses garbage and damaged models with a UserError, never a crash', async () => {
      const file = join(tmp, 'garbage.onnx');
      const damaged = fc
        .tuple(fc.nat(sample.length - 1), fc.integer({ min: 0, max: 255 }))
        .map(([i, b]) => Buffer.from(sample.map((x, j) => (j === i ? b : x))));
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), damaged), async (data) => {
          writeFileSync(file, data);
          const outcome = await readOnnxSignature(file).then(
            () => 'read',
            (e: unknown) => (e instanceof UserError && e.message.startsWith(`${file}: `) ? 'refused' : e),
          );
          expect(['read', 'refused']).toContain(outcome);
        }),
        { numRuns: 300 },
      );
    });

    it('names what is wrong with a malformed field', async () => {
      const longVarint = write('long-varint.onnx', Buffer.from([0x08, ...Array(10).fill(0xff), 0x01]));
      expect(await failure(longVarint)).toBe(`${longVarint}: not an ONNX model: malformed varint at byte 0`);
      const wrongWire = write('wrong-wire.onnx', str(1, '8'), sample.subarray(graphAt));
      expect(await failure(wrongWire)).toBe(`${wrongWire}: not an ONNX model: field ir_version has wire type 2, expected 0 at byte 0`);
      const overrun = write('overrun.onnx', msg(7, lenPrefix(2, 50)), Buffer.alloc(60));
      expect(await failure(overrun)).toBe(`${overrun}: not an ONNX model: field overruns its message at byte 2`);
    });

    it('refuses nesting deeper than protobuf allows (100), in one line naming the file', async () => {
      // 200k nested groups: a recursive reader overflows its stack on these
      const groups = write('groups.onnx', Buffer.from([...Array(200_000).fill(key(50, 3)).flat(), ...Array(200_000).fill(key(50, 4)).flat()]));
      expect(await failure(groups)).toBe(`${groups}: not an ONNX model: messages nested more than 100 deep at byte 200`);
      // subgraphs in subgraphs (If in If ...): graph, node, attribute each count as a level
      const nest = (levels: number): Buffer => {
        let inner = msg(1, str(4, 'Identity'));
        for (let i = 0; i < levels; i++) inner = msg(1, msg(5, str(1, 'then_branch'), msg(6, inner)));
        return inner;
      };
      const ok = write('deep-ok.onnx', int(1, 8), msg(7, nest(32)));
      expect((await readOnnxSignature(ok)).irVersion).toBe(8);
      const deep = write('deep.onnx', int(1, 8), msg(7, nest(2000)));
      expect(await failure(deep)).toMatch(new RegExp(`^${deep}: not an ONNX model: messages nested more than 100 deep at byte \\d+$`));
    });

    it('refuses a FIFO or other non-regular file without opening it', async () => {
      const fifo = join(tmp, 'fifo.onnx');
      execFileSync('mkfifo', [fifo]);
      expect(await failure(fifo)).toBe(`${fifo}: not a regular file`);
      expect(await failure('/dev/null')).toBe('/dev/null: not a regular file');
    });

    it('refuses a file without a graph', async () => {
      const file = write('empty.onnx');
      expect(await failure(file)).toBe(`${file}: not an ONNX model: no graph`);
      const text = write('text.onnx', Buffer.from('hello world\n'));
      expect(await failure(text)).toMatch(new RegExp(`^${text}: not an ONNX model: .* at byte \\d+$`));
    });

    it('names a missing file and a directory without model.onnx', async () => {
      const missing = join(tmp, 'nope.onnx');
      expect(await failure(missing)).toBe(`${missing}: no such file`);
      const dir = join(tmp, 'empty-dir');
      mkdirSync(dir);
      expect(await failure(dir)).toBe(`${dir}: a directory without model.onnx`);
    });
  });
});
