/** What nx-triton reads of an ONNX model: its signature (lib/onnx/read-signature.ts). */

/** A dim of an ONNX tensor: a fixed size, a symbolic name (`dim_param`), or unknown (null). */
export type OnnxDim = number | string | null;

export interface OnnxTensor {
  name: string;
  /** ONNX `TensorProto.DataType` number (1 = FLOAT, 7 = INT64, ...); 0 when not a tensor type. */
  elemType: number;
  /** null when the graph gives no shape at all (unknown rank); [] for a scalar. */
  shape: OnnxDim[] | null;
}

/** What a model file declares, read without loading its weights. */
export interface OnnxSignature {
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  producerName: string;
  producerVersion: string;
  graphName: string;
  /** Graph inputs that are not initializers. */
  inputs: OnnxTensor[];
  /**
   * Graph inputs that are also initializers: onnxruntime's overridable initializers, which a
   * request may feed (Triton takes them as optional inputs) but need not.
   */
  overridableInputs: OnnxTensor[];
  outputs: OnnxTensor[];
  /** `location` of every external-data tensor, in first-seen order, de-duplicated. */
  externalData: string[];
}
