import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { onnxElemTypeName, readOnnxSignature } from '../onnx';
import { onnxTypeForTriton } from '../onnx/elem-types';
import type { ModelSpec } from '../model-spec/types';
import type { OnnxSignature } from '../onnx/types';
import { checkExternalData } from './companions';
import { exportError } from './where';
import { onnxFileIn } from '../layout';
import { dirname } from 'node:path';

/** What a torch export promised: the graph is checked against it. */
export interface ExpectedGraph {
  inputs: Array<{ name: string; dataType?: string }>;
  outputs: string[];
}

/**
 * Checks what the export wrote: it exists and is not empty, and an ONNX model (a `.onnx` file, or a
 * `model.onnx` directory holding one) is readable and, for a torch export, has the promised I/O.
 */
export async function checkExported(
  spec: ModelSpec,
  key: string,
  output: string,
  shownPath: string,
  expected?: ExpectedGraph,
): Promise<OnnxSignature | undefined> {
  const info = await stat(output).catch(() => undefined);
  if (!info) throw exportError(spec, key, `the export did not write ${shownPath}`);
  if (info.isFile() && info.size === 0) throw exportError(spec, key, `the export wrote an empty file ${shownPath}`);
  if (info.isDirectory() && (await readdir(output)).length === 0) {
    throw exportError(spec, key, `the export wrote an empty directory ${shownPath}`);
  }
  const onnxFile = onnxFileIn(output);
  if (!onnxFile.endsWith('.onnx') || !existsSync(onnxFile)) return undefined;
  let signature: OnnxSignature;
  try {
    signature = await readOnnxSignature(onnxFile);
  } catch (err) {
    throw exportError(spec, key, `${shownPath} is not a readable ONNX model: ${(err as Error).message}`);
  }
  await checkExternalData(spec, key, onnxFile, signature.externalData, shownPath, { dir: dirname(output), what: "the export's output" });
  if (expected) checkGraph(spec, key, shownPath, signature, expected);
  return signature;
}

function checkGraph(spec: ModelSpec, key: string, shownPath: string, sig: OnnxSignature, expected: ExpectedGraph): void {
  const got = sig.inputs.map((i) => i.name);
  const want = expected.inputs.map((i) => i.name);
  if (got.join('\0') !== want.join('\0')) {
    throw exportError(
      spec,
      'export.torch.input_shapes',
      `${shownPath} has inputs [${got.join(', ')}] but input_shapes names [${want.join(', ')}] (does forward() take every input, in this order?)`,
    );
  }
  const outputs = sig.outputs.map((o) => o.name);
  if (outputs.join('\0') !== expected.outputs.join('\0')) {
    throw exportError(spec, key, `${shownPath} has outputs [${outputs.join(', ')}], expected [${expected.outputs.join(', ')}]`);
  }
  for (const input of expected.inputs) {
    const want = input.dataType ? onnxTypeForTriton(input.dataType) : undefined;
    const actual = sig.inputs.find((i) => i.name === input.name);
    if (want !== undefined && actual && actual.elemType !== want) {
      throw exportError(
        spec,
        key,
        `${shownPath} input "${input.name}" is ${onnxElemTypeName(actual.elemType)}, expected ${onnxElemTypeName(want)} (${input.dataType})`,
      );
    }
  }
}
