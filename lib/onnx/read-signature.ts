import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import type { OnnxDim, OnnxSignature, OnnxTensor } from './types';
import { expectWire, readFields, Wire, WireError, WireReader, type Tag } from './wire';
import { ONNX_FILE } from '../layout';

/*
 * Field numbers from proto/onnx.proto. Only the fields that make up the signature are decoded,
 * and the names and external-data locations of every tensor the model holds; everything else
 * (tensor data, node inputs, docs) is skipped by its length.
 */
const MODEL = { IR_VERSION: 1, PRODUCER_NAME: 2, PRODUCER_VERSION: 3, GRAPH: 7, OPSET_IMPORT: 8, TRAINING_INFO: 20, FUNCTIONS: 25 };
const OPSET = { DOMAIN: 1, VERSION: 2 };
const GRAPH = { NODE: 1, NAME: 2, INITIALIZER: 5, INPUT: 11, OUTPUT: 12, SPARSE_INITIALIZER: 15 };
const VALUE_INFO = { NAME: 1, TYPE: 2 };
const TYPE = { TENSOR: 1, SEQUENCE: 4, MAP: 5, SPARSE_TENSOR: 8, OPTIONAL: 9 };
const TENSOR_TYPE = { ELEM_TYPE: 1, SHAPE: 2 };
const SHAPE = { DIM: 1 };
const DIM = { VALUE: 1, PARAM: 2 };
const TENSOR = { NAME: 8, EXTERNAL_DATA: 13, DATA_LOCATION: 14 };
const SPARSE_TENSOR = { VALUES: 1, INDICES: 2 };
const ENTRY = { KEY: 1, VALUE: 2 };
const DATA_LOCATION_EXTERNAL = 1;

/**
 * Every place a tensor can sit below the main graph's nodes, at any depth: the messages that hold
 * tensors (directly, as sparse tensors, or in subgraphs of If/Loop/Scan and the attributes of
 * Constant and other nodes), field by field. A tensor's data may live in an external file; each
 * such file is part of the model (its engine key, its repository entry, the builder's checks).
 */
type Holder = 'graph' | 'node' | 'attribute' | 'sparse' | 'function' | 'training' | 'tensor';
const HOLDS: Record<Exclude<Holder, 'tensor'>, Record<number, Holder>> = {
  graph: { [GRAPH.NODE]: 'node', [GRAPH.INITIALIZER]: 'tensor', [GRAPH.SPARSE_INITIALIZER]: 'sparse' },
  node: { 5: 'attribute' }, // NodeProto.attribute
  // AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { [SPARSE_TENSOR.VALUES]: 'tensor', [SPARSE_TENSOR.INDICES]: 'tensor' },
  function: { 7: 'node', 11: 'attribute' }, // FunctionProto.node, attribute_proto (defaults)
  training: { 1: 'graph', 2: 'graph' }, // TrainingInfoProto.initialization, algorithm
};

interface GraphParts {
  name: string;
  inputs: OnnxTensor[];
  outputs: OnnxTensor[];
  initializers: Set<string>;
  externalData: string[];
}

/**
 * Reads an ONNX model's signature (IR version, opsets, graph inputs and outputs, external-data
 * files) without loading its weights: big fields are skipped by seeking past them.
 * `file` may be Triton's directory form (`model.onnx/` holding `model.onnx` and its data files).
 * Failures are UserErrors naming the file (and the byte offset, for a damaged model).
 */
export async function readOnnxSignature(file: string): Promise<OnnxSignature> {
  return readOnnxSignatureSync(file);
}

/** `readOnnxSignature` for synchronous callers; it takes milliseconds even for multi-GB models. */
export function readOnnxSignatureSync(file: string): OnnxSignature {
  const modelFile = resolveModelFile(file);
  let fd: number;
  try {
    fd = openSync(modelFile, 'r');
  } catch (err) {
    throw fsError(modelFile, err);
  }
  try {
    return readModel(new WireReader(fd, fstatSync(fd).size));
  } catch (err) {
    if (err instanceof WireError) throw new UserError(`${modelFile}: not an ONNX model: ${err.message}`);
    throw fsError(modelFile, err);
  } finally {
    closeSync(fd);
  }
}

function resolveModelFile(file: string): string {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw fsError(file, err);
  }
  if (st.isFile()) return file;
  // Opening a FIFO blocks until someone writes to it; a device never ends.
  if (!st.isDirectory()) throw new UserError(`${file}: not a regular file`);
  const inner = join(file, ONNX_FILE);
  const innerSt = statSync(inner, { throwIfNoEntry: false });
  if (innerSt?.isFile()) return inner;
  if (innerSt) throw new UserError(`${inner}: not a regular file`);
  throw new UserError(`${file}: a directory without ${ONNX_FILE}`);
}

function fsError(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new UserError(`${file}: no such file`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`${file}: permission denied`);
  if (code === 'EISDIR') return new UserError(`${file}: is a directory`);
  if (code) return new UserError(`${file}: cannot read (${code})`);
  return err;
}

function readModel(r: WireReader): OnnxSignature {
  const sig: OnnxSignature = {
    irVersion: 0,
    opsets: [],
    producerName: '',
    producerVersion: '',
    graphName: '',
    inputs: [],
    overridableInputs: [],
    outputs: [],
    externalData: [],
  };
  const graph: GraphParts = { name: '', inputs: [], outputs: [], initializers: new Set(), externalData: [] };
  let hasGraph = false;
  const end = r.size;
  readFields(r, end, (tag) => {
    switch (tag.field) {
      case MODEL.IR_VERSION:
        expectWire(tag, Wire.VARINT, 'ir_version');
        sig.irVersion = r.int(tag, end);
        return true;
      case MODEL.PRODUCER_NAME:
        sig.producerName = readString(r, tag, end, 'producer_name');
        return true;
      case MODEL.PRODUCER_VERSION:
        sig.producerVersion = readString(r, tag, end, 'producer_version');
        return true;
      case MODEL.OPSET_IMPORT:
        sig.opsets.push(readSub(r, tag, end, 'opset_import', readOpset));
        return true;
      case MODEL.GRAPH:
        // A repeated occurrence of a singular message merges into the first, as protobuf does.
        readSub(r, tag, end, 'graph', (r, end) => readGraph(r, end, graph));
        hasGraph = true;
        return true;
      case MODEL.TRAINING_INFO:
        readSub(r, tag, end, 'training_info', (r, end) => collectTensors(r, end, 'training', graph.externalData));
        return true;
      case MODEL.FUNCTIONS:
        readSub(r, tag, end, 'functions', (r, end) => collectTensors(r, end, 'function', graph.externalData));
        return true;
      default:
        return false;
    }
  });
  if (!hasGraph) throw new WireError('no graph');
  sig.graphName = graph.name;
  sig.inputs = graph.inputs.filter((t) => !graph.initializers.has(t.name));
  sig.overridableInputs = graph.inputs.filter((t) => graph.initializers.has(t.name));
  sig.outputs = graph.outputs;
  sig.externalData = [...new Set(graph.externalData)];
  return sig;
}

/** Reads a length-delimited submessage with `parse`, which gets the submessage's end offset. */
function readSub<T>(
  r: WireReader,
  tag: Tag,
  end: number,
  name: string,
  parse: (r: WireReader, end: number) => T,
): T {
  expectWire(tag, Wire.LEN, name);
  const len = r.length(tag, end);
  return r.nested(tag, () => parse(r, r.pos + len));
}

/** Adds the external-data locations of every tensor inside a `holder` message to `out`. */
function collectTensors(r: WireReader, end: number, holder: Exclude<Holder, 'tensor'>, out: string[]): void {
  const fields = HOLDS[holder];
  readFields(r, end, (tag) => {
    const inner = fields[tag.field];
    if (inner === undefined) return false;
    if (inner === 'tensor') out.push(...readSub(r, tag, end, `${holder}.tensor`, readTensor).externalData);
    else readSub(r, tag, end, `${holder}.${inner}`, (r, end) => collectTensors(r, end, inner, out));
    return true;
  });
}

function readString(r: WireReader, tag: Tag, end: number, name: string): string {
  expectWire(tag, Wire.LEN, name);
  return r.string(tag, r.length(tag, end));
}

function readOpset(r: WireReader, end: number): { domain: string; version: number } {
  const opset = { domain: '', version: 0 };
  readFields(r, end, (tag) => {
    if (tag.field === OPSET.DOMAIN) opset.domain = readString(r, tag, end, 'opset_import.domain');
    else if (tag.field === OPSET.VERSION) {
      expectWire(tag, Wire.VARINT, 'opset_import.version');
      opset.version = r.int(tag, end);
    } else return false;
    return true;
  });
  return opset;
}

function readGraph(r: WireReader, end: number, graph: GraphParts): void {
  readFields(r, end, (tag) => {
    switch (tag.field) {
      case GRAPH.NAME:
        graph.name = readString(r, tag, end, 'graph.name');
        return true;
      case GRAPH.INPUT:
        graph.inputs.push(readSub(r, tag, end, 'graph.input', readValueInfo));
        return true;
      case GRAPH.OUTPUT:
        graph.outputs.push(readSub(r, tag, end, 'graph.output', readValueInfo));
        return true;
      case GRAPH.NODE:
        readSub(r, tag, end, 'graph.node', (r, end) => collectTensors(r, end, 'node', graph.externalData));
        return true;
      case GRAPH.INITIALIZER: {
        const t = readSub(r, tag, end, 'graph.initializer', readTensor);
        graph.initializers.add(t.name);
        graph.externalData.push(...t.externalData);
        return true;
      }
      case GRAPH.SPARSE_INITIALIZER:
        readSub(r, tag, end, 'graph.sparse_initializer', (r, end) => {
          // A sparse initializer is named by its values tensor.
          let name = '';
          readFields(r, end, (tag) => {
            if (tag.field !== SPARSE_TENSOR.VALUES && tag.field !== SPARSE_TENSOR.INDICES) return false;
            const t = readSub(r, tag, end, 'sparse_initializer.tensor', readTensor);
            if (tag.field === SPARSE_TENSOR.VALUES) name = t.name;
            graph.externalData.push(...t.externalData);
            return true;
          });
          graph.initializers.add(name);
        });
        return true;
      default:
        return false;
    }
  });
}

/** A TensorProto's name and external-data location; its data is skipped. */
function readTensor(r: WireReader, end: number): { name: string; externalData: string[] } {
  let name = '';
  let location: string | undefined;
  let dataLocation = 0;
  readFields(r, end, (tag) => {
    switch (tag.field) {
      case TENSOR.NAME:
        name = readString(r, tag, end, 'initializer.name');
        return true;
      case TENSOR.DATA_LOCATION:
        expectWire(tag, Wire.VARINT, 'initializer.data_location');
        dataLocation = r.int(tag, end);
        return true;
      case TENSOR.EXTERNAL_DATA: {
        const entry = readSub(r, tag, end, 'initializer.external_data', readEntry);
        if (entry.key === 'location') location = entry.value;
        return true;
      }
      default:
        return false;
    }
  });
  return { name, externalData: dataLocation === DATA_LOCATION_EXTERNAL && location !== undefined ? [location] : [] };
}

function readEntry(r: WireReader, end: number): { key: string; value: string } {
  const entry = { key: '', value: '' };
  readFields(r, end, (tag) => {
    if (tag.field === ENTRY.KEY) entry.key = readString(r, tag, end, 'external_data.key');
    else if (tag.field === ENTRY.VALUE) entry.value = readString(r, tag, end, 'external_data.value');
    else return false;
    return true;
  });
  return entry;
}

/** The element type and shape of a `TypeProto` as it is being merged from the wire. */
interface TypeParts {
  /** Which member of TypeProto's `value` oneof was set last. */
  kind: 'none' | 'tensor' | 'other';
  elemType: number;
  shape: OnnxDim[] | null;
}

function readValueInfo(r: WireReader, end: number): OnnxTensor {
  let name = '';
  const type: TypeParts = { kind: 'none', elemType: 0, shape: null };
  readFields(r, end, (tag) => {
    if (tag.field === VALUE_INFO.NAME) name = readString(r, tag, end, 'value_info.name');
    else if (tag.field === VALUE_INFO.TYPE) readSub(r, tag, end, 'value_info.type', (r, end) => readType(r, end, type));
    else return false;
    return true;
  });
  return type.kind === 'tensor' ? { name, elemType: type.elemType, shape: type.shape } : { name, elemType: 0, shape: null };
}

function readType(r: WireReader, end: number, type: TypeParts): void {
  readFields(r, end, (tag) => {
    switch (tag.field) {
      case TYPE.TENSOR:
        if (type.kind !== 'tensor') Object.assign(type, { kind: 'tensor', elemType: 0, shape: null });
        readSub(r, tag, end, 'type.tensor_type', (r, end) => readTensorType(r, end, type));
        return true;
      case TYPE.SEQUENCE:
      case TYPE.MAP:
      case TYPE.SPARSE_TENSOR:
      case TYPE.OPTIONAL:
        expectWire(tag, Wire.LEN, 'type');
        type.kind = 'other';
        return false;
      default:
        return false;
    }
  });
}

function readTensorType(r: WireReader, end: number, type: TypeParts): void {
  readFields(r, end, (tag) => {
    if (tag.field === TENSOR_TYPE.ELEM_TYPE) {
      expectWire(tag, Wire.VARINT, 'tensor_type.elem_type');
      type.elemType = r.int(tag, end) | 0; // int32
    } else if (tag.field === TENSOR_TYPE.SHAPE) {
      const dims = (type.shape ??= []);
      readSub(r, tag, end, 'tensor_type.shape', (r, end) =>
        readFields(r, end, (tag) => {
          if (tag.field !== SHAPE.DIM) return false;
          dims.push(readSub(r, tag, end, 'shape.dim', readDim));
          return true;
        }),
      );
    } else return false;
    return true;
  });
}

function readDim(r: WireReader, end: number): OnnxDim {
  let dim: OnnxDim = null;
  readFields(r, end, (tag) => {
    if (tag.field === DIM.VALUE) {
      expectWire(tag, Wire.VARINT, 'dim.dim_value');
      dim = r.int(tag, end);
    } else if (tag.field === DIM.PARAM) dim = readString(r, tag, end, 'dim.dim_param');
    else return false;
    return true;
  });
  return dim;
}
