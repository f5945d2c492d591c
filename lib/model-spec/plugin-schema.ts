import { TENSORRT_KEY_SCHEMA } from './tensorrt';

/** A piece of JSON Schema (draft-07) for one plugin key: its value's type and a description. */
export interface KeySchema {
  description: string;
  [keyword: string]: unknown;
}

const positiveInt = { type: 'integer', minimum: 1 };
const twoNumbers = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 };

/**
 * The editor schema's view of the plugin keys (never written to config.pbtxt), by dotted key path.
 *
 * Which keys exist, and how they nest, the schema generator (lib/schema/build.ts) learns from the
 * checker itself: PLUGIN_KEYS and every `checkKeys` map under them. This table adds what a checker
 * cannot tell it — a description and the value's type. A key the checker has and this table lacks
 * still appears in the schema (any value), and lib/schema/schema.spec.ts fails until it is described
 * here. Keys that DESIGN.md names and the checker may not have yet are described ahead of them.
 * The `tensorrt.*` keys carry their schema in their own entry of TENSORRT_KEYS (lib/model-spec/tensorrt.ts).
 */
export const PLUGIN_KEY_SCHEMA: Readonly<Record<string, KeySchema>> = {
  version: { ...positiveInt, description: 'The version directory this project builds (default 1).' },
  previous_versions: {
    type: 'object',
    propertyNames: { pattern: '^[1-9][0-9]*$' },
    additionalProperties: { type: 'string' },
    description: 'Older versions kept as they are: { "<n>": <dir> }; the contents of each directory (relative to the project) become version directory <n>.',
  },
  export: {
    type: 'object',
    minProperties: 1,
    maxProperties: 1,
    description: 'How the model file is produced: exactly one of torch, command or file.',
  },
  'export.torch': {
    type: 'object',
    required: ['model'],
    description: 'A torch.nn.Module, exported to ONNX (onnxruntime_onnx, tensorrt_plan) or TorchScript (pytorch_libtorch).',
  },
  'export.torch.model': {
    type: 'string',
    pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$',
    description: '"python.module:callable" resolved from the project directory; called with kwargs, it returns a torch.nn.Module.',
  },
  'export.torch.kwargs': { type: 'object', description: 'Keyword arguments passed to the callable.' },
  'export.torch.checkpoint': { type: 'string', description: 'A state_dict file in the project, loaded into the module before the export.' },
  'export.torch.input_shapes': {
    type: 'object',
    additionalProperties: { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 }, { type: 'null' }] } },
    description: "Shapes of the example inputs by the name of forward()'s parameter; null is a dynamic dim, a leading null the batch dim.",
  },
  'export.torch.output_names': { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Names of the exported outputs, in order.' },
  'export.torch.opset': { type: 'integer', minimum: 7, maximum: 21, description: 'The ONNX opset to export with.' },
  'export.torch.script': { type: 'boolean', description: 'TorchScript by torch.jit.script instead of tracing (pytorch_libtorch).' },
  'export.torch.exporter': {
    type: 'string',
    enum: ['dynamo', 'torchscript'],
    description: "Which torch ONNX exporter runs (default: the installed torch's own default: dynamo from torch 2.9, torchscript before).",
  },
  'export.torch.example_inputs': {
    type: 'object',
    additionalProperties: {
      anyOf: [
        { type: 'string', enum: ['zeros', 'ones'] },
        { type: 'string', pattern: '\\.npy$' },
        { type: 'object', properties: { randint: twoNumbers }, required: ['randint'], additionalProperties: false },
        { type: 'object', properties: { uniform: twoNumbers }, required: ['uniform'], additionalProperties: false },
        { type: 'object', properties: { normal: twoNumbers }, required: ['normal'], additionalProperties: false },
      ],
    },
    description: 'Values of the example tensors by input: zeros, ones, { randint | uniform | normal: [a, b] } or a .npy file in the project (default: normal [0, 1] for floating types, ones otherwise).',
  },
  'export.command': {
    type: 'array',
    minItems: 1,
    items: { type: ['string', 'number'] },
    description: 'Your own program as argv, run without a shell in the project directory; "{output}" in an argument is the path it must write, "{python}" the configured interpreter.',
  },
  'export.file': { type: 'string', description: 'An existing model file or directory in the project.' },
  from: {
    type: 'string',
    description: 'Take the ONNX file and the input/output configuration of another model project; keys in this file override. How a TensorRT model is made from an ONNX model.',
  },
  tensorrt: { type: 'object', description: 'Options of the TensorRT engine build (trtexec).' },
  ...TENSORRT_KEY_SCHEMA,
  verify: {
    type: ['boolean', 'object'],
    description: 'The fidelity gate after the export: the exported model and the torch module run on the same seeded inputs and their outputs are compared (false turns it off).',
  },
  'verify.atol': { type: 'number', minimum: 0, description: 'Absolute tolerance: an element fails when it exceeds both atol and rtol.' },
  'verify.rtol': { type: 'number', minimum: 0, description: 'Relative tolerance: an element fails when it exceeds both atol and rtol.' },
  'verify.batch_sizes': { type: 'array', items: positiveInt, description: 'Batch sizes to run (default: 1, the largest preferred batch size, max_batch_size).' },
  'verify.samples': { type: 'string', description: 'Real inputs: an .npz in the project, one array per input name.' },
  triton_release: {
    type: 'string',
    pattern: '^[0-9]{2}\\.[0-9]{2}$',
    description: 'The Triton container release that serves the model (e.g. "24.08"); a TensorRT plan must be built by the TensorRT it ships.',
  },
};
