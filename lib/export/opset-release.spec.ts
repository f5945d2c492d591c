import { describe, expect, it } from 'vitest';
import { parseSpec } from '../model-spec';
import { torchRequest } from './sources/torch';

/**
 * Issue 19.12: with a Triton release and no export.torch.opset, the export asks for an opset that
 * release's ONNX Runtime loads (lib/releases/onnxruntime.ts opsetForRelease). Real exports:
 * opset-release.int.spec.ts.
 */

function requestOpset(platform: string, extra = '', top = ''): number | null {
  const yaml = `platform: ${platform}\nmax_batch_size: 8\n${top}export:\n  torch:\n    model: net:build\n    input_shapes: { x: [null, 4] }\n${extra}`;
  const spec = parseSpec(yaml, 'models/m/triton.yaml', '/ws/models/m', { checkFiles: false });
  return torchRequest(spec, (spec.export as { torch: never }).torch, '/out/model').opset;
}

describe('the opset a torch export asks for', () => {
  it("is chosen for an ONNX Runtime model whose release needs one, else torch's own", () => {
    expect(requestOpset('onnxruntime_onnx', '', 'triton_release: "24.01"\n')).toBe(17);
    expect(requestOpset('onnxruntime_onnx', '', 'triton_release: "24.05"\n')).toBeNull();
    expect(requestOpset('onnxruntime_onnx')).toBeNull();
  });

  it('a given opset is kept, and models ONNX Runtime does not load get none chosen from its table', () => {
    expect(requestOpset('onnxruntime_onnx', '    opset: 19\n', 'triton_release: "24.01"\n')).toBe(19);
    // TensorRT parses the ONNX (trtexec), not ONNX Runtime; TorchScript has no opset.
    expect(requestOpset('tensorrt_plan', '', 'triton_release: "24.01"\n')).toBeNull();
    expect(requestOpset('pytorch_libtorch', '', 'triton_release: "24.01"\n')).toBeNull();
  });
});
