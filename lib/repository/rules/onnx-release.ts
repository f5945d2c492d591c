import { checkedOpsets, oldestReleaseLoading, onnxRefusal, type OnnxStamps } from '../../releases/onnxruntime';

/** `IR 10, opset 18, ai.onnx.ml 3`: the stamps ONNX Runtime checks, as a model has them. */
function stampsText(model: OnnxStamps): string {
  const opsets = checkedOpsets(model);
  const parts = [`IR ${model.irVersion}`];
  if (opsets['ai.onnx'] !== undefined) parts.push(`opset ${opsets['ai.onnx']}`);
  if (opsets['ai.onnx.ml'] !== undefined) parts.push(`ai.onnx.ml opset ${opsets['ai.onnx.ml']}`);
  return parts.join(', ');
}

/**
 * What is wrong with an ONNX model for Triton `release` (`triton_release`, nx.json `tritonRelease`,
 * `validate --triton-release`), if anything: an IR version or opset newer than the ONNX Runtime that
 * release ships loads (lib/releases/onnxruntime.ts, which cites the runtime's checks). One line: the
 * model's stamps, what the release loads, and the fix. Undefined for a release not in the table.
 */
export function onnxReleaseProblem(model: OnnxStamps, release: string): string | undefined {
  const refusal = onnxRefusal(model, release);
  if (!refusal) return undefined;
  const { loads } = refusal;
  const tooNew = new Set(refusal.opsets.map((o) => o.domain));
  const usesMl = checkedOpsets(model)['ai.onnx.ml'] !== undefined;
  const most = [`IR ${loads.ir}`, `opset ${loads.opsets['ai.onnx']}`, ...(usesMl ? [`ai.onnx.ml opset ${loads.opsets['ai.onnx.ml']}`] : [])];
  const opset = loads.opsets['ai.onnx'];
  const fixes: string[] = [];
  if (refusal.ir !== undefined) {
    // torch's TorchScript-based exporter writes the IR its opset needs (opset 15-18: IR 8, 19-20: IR 9,
    // 21: IR 10), so at the release's opset it fits; the dynamo exporter writes IR 10 whatever the opset.
    fixes.push(
      `re-export it with IR ${loads.ir} or lower: torch's dynamo exporter writes IR 10 at any opset, its TorchScript-based one ` +
        `fits at opset ${opset} or lower (export.torch.exporter: torchscript, export.torch.opset: ${opset})`,
    );
  } else if (tooNew.has('ai.onnx')) {
    fixes.push(`re-export it at opset ${opset} or lower (export.torch.opset: ${opset})`);
  }
  if (tooNew.has('ai.onnx.ml')) fixes.push(`use ai.onnx.ml opset ${loads.opsets['ai.onnx.ml']} or lower`);
  const newer = oldestReleaseLoading(model);
  fixes.push(
    newer
      ? `or serve it with Triton ${newer.release} or newer (ONNX Runtime ${newer.onnxruntime})`
      : 'no Triton release nx-triton knows loads it',
  );
  return `ONNX ${stampsText(model)}: Triton ${release} ships ONNX Runtime ${loads.onnxruntime}, which loads ${most.join(', ')} at most; ${fixes.join('; ')}`;
}
