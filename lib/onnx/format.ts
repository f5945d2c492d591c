import type { OnnxDim, OnnxSignature, OnnxTensor } from './types';
import { onnxElemTypeName } from './elem-types';

/** `[batch, 3, 224, 224]`; `?` for an unknown dim, `(unknown rank)` when there is no shape. */
export function formatOnnxShape(shape: OnnxDim[] | null): string {
  if (shape === null) return '(unknown rank)';
  return `[${shape.map((d) => (d === null || d === '' ? '?' : String(d))).join(', ')}]`;
}

function displayName(name: string): string {
  return /^[\w.:/@-]+$/.test(name) ? name : JSON.stringify(name);
}

function tensorRows(tensors: OnnxTensor[]): string[] {
  if (tensors.length === 0) return ['  (none)'];
  const rows = tensors.map((t) =>
    t.elemType === 0 && t.shape === null
      ? [displayName(t.name), '-', '(not a tensor)']
      : [displayName(t.name), onnxElemTypeName(t.elemType), formatOnnxShape(t.shape)],
  );
  // a loop, not Math.max(...rows): spreading 200k arguments overflows the stack
  let nameWidth = 0;
  let typeWidth = 0;
  for (const [name, type] of rows) {
    nameWidth = Math.max(nameWidth, name.length);
    typeWidth = Math.max(typeWidth, type.length);
  }
  return rows.map(([name, type, shape]) => `  ${name.padEnd(nameWidth)}  ${type.padEnd(typeWidth)}  ${shape}`);
}

/** The human-readable report of `nx-triton inspect`. */
export function formatOnnxSignature(file: string, sig: OnnxSignature): string {
  const opsets = sig.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ') || '(none)';
  const producer = [sig.producerName, sig.producerVersion].filter(Boolean).join(' ') || '(unknown)';
  const lines = [
    `file:          ${file}`,
    `ir_version:    ${sig.irVersion}`,
    `opsets:        ${opsets}`,
    `producer:      ${producer}`,
    `graph:         ${sig.graphName ? displayName(sig.graphName) : '(unnamed)'}`,
    'inputs:',
    ...tensorRows(sig.inputs),
    'outputs:',
    ...tensorRows(sig.outputs),
    `external data: ${sig.externalData.length ? sig.externalData.map(displayName).join(', ') : '(none)'}`,
  ];
  return lines.join('\n') + '\n';
}
