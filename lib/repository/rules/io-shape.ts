import type { ModelConfig, ModelTensor } from '../../model-config';
import type { Problem } from './problem';
import { isTensorRt } from '../../platforms';
import { enumValue } from './problem';

const WILDCARD = -1;

/** Element count of a shape, -1 when any dim is a wildcard (Triton's GetElementCount). */
function elementCount(dims: number[]): number {
  let n = 1;
  for (const d of dims) {
    if (d === WILDCARD) return -1;
    n *= d;
  }
  return n;
}

/** Products of the runs of fixed dims between wildcards: [2,4,-1,6] -> [8, 6]. */
function segments(dims: number[]): number[] {
  const out: number[] = [];
  let n = 1;
  for (const d of dims) {
    if (d === WILDCARD) {
      out.push(n);
      n = 1;
    } else n *= d;
  }
  out.push(n);
  return out;
}

/** Triton's ValidateIOShape for one input or output. */
function checkShape(io: ModelTensor, at: string, maxBatch: number): Problem[] {
  const problems: Problem[] = [];
  if (!io.name) problems.push({ path: `${at}.name`, message: "must specify 'name'" });
  if (enumValue(io.data_type, 'inference.DataType') === 'TYPE_INVALID') {
    problems.push({ path: `${at}.data_type`, message: "must specify 'data_type' (TYPE_INVALID is not a type)" });
  }
  const dims = (io.dims ?? []).map(Number);
  if (dims.length === 0) {
    problems.push({
      path: `${at}.dims`,
      message: "must specify 'dims' (a scalar is dims: [1] with reshape: { shape: [] })",
    });
  }
  dims.forEach((d, i) => {
    if (d < 1 && d !== WILDCARD) {
      problems.push({ path: `${at}.dims[${i}]`, message: `dimension must be an integer >= 1, or -1 for a variable-size dimension, got ${d}` });
    }
  });

  const reshape = io.reshape;
  if (!reshape) return problems;
  const shape = (reshape.shape ?? []).map(Number);
  if (shape.length === 0 && maxBatch === 0) {
    problems.push({ path: `${at}.reshape`, message: 'cannot have empty reshape for non-batching model (max_batch_size is 0)' });
  }
  let badReshapeDim = false;
  shape.forEach((d, i) => {
    if (d < 1 && d !== WILDCARD) {
      badReshapeDim = true;
      problems.push({
        path: `${at}.reshape.shape[${i}]`,
        message: `reshape dimension must be an integer >= 1, or -1 for a variable-size dimension, got ${d}`,
      });
    }
  });
  if (badReshapeDim || dims.length === 0 || dims.some((d) => d < 1 && d !== WILDCARD)) return problems;

  const dimsCount = elementCount(dims);
  const reshapeCount = shape.length === 0 ? 0 : elementCount(shape);
  const emptyReshapeOfOne = shape.length === 0 && dimsCount === 1;
  if (dimsCount !== reshapeCount && !emptyReshapeOfOne) {
    problems.push({
      path: `${at}.reshape.shape`,
      message: shape.length === 0
        ? `empty reshape needs dims with element count 1, got dims [${dims.join(',')}]`
        : `has different size for dims [${dims.join(',')}] and reshape [${shape.join(',')}]`,
    });
  } else if (dimsCount === -1) {
    const a = segments(dims);
    const b = segments(shape);
    if (a.length !== b.length) {
      problems.push({
        path: `${at}.reshape.shape`,
        message: `has different number of variable-size dimensions for dims [${dims.join(',')}] and reshape [${shape.join(',')}]`,
      });
    } else if (a.some((n, i) => n !== b[i])) {
      problems.push({
        path: `${at}.reshape.shape`,
        message: `has different size for dims [${dims.join(',')}] and reshape [${shape.join(',')}] between variable-size dimensions`,
      });
    }
  }
  return problems;
}

function checkTensorRtOnly(io: ModelTensor, at: string, trt: boolean): Problem[] {
  const problems: Problem[] = [];
  if (io.is_shape_tensor && !trt) {
    problems.push({ path: `${at}.is_shape_tensor`, message: 'shape tensors are only supported for the tensorrt_plan platform' });
  }
  if (io.is_non_linear_format_io) {
    if (!trt) {
      problems.push({
        path: `${at}.is_non_linear_format_io`,
        message: 'non-linear format I/O is only supported for the tensorrt_plan platform',
      });
    } else if ((io.dims ?? []).length !== 3) {
      problems.push({ path: `${at}.dims`, message: `non-linear format I/O requires 3 dims, got ${(io.dims ?? []).length}` });
    }
  }
  return problems;
}

/** Shapes, types, formats and names of `input` and `output`. */
export function checkIO(config: ModelConfig): Problem[] {
  const problems: Problem[] = [];
  const maxBatch = config.max_batch_size ?? 0;
  const trt = isTensorRt(config);
  for (const field of ['input', 'output'] as const) {
    const seen = new Map<string, number>();
    (config[field] ?? []).forEach((io: ModelTensor, i) => {
      const at = `${field}[${i}]`;
      problems.push(...checkShape(io, at, maxBatch), ...checkTensorRtOnly(io, at, trt));
      if (field === 'input') {
        const format = enumValue(io.format, 'inference.ModelInput.Format');
        if ((format === 'FORMAT_NHWC' || format === 'FORMAT_NCHW') && (io.dims ?? []).length !== 3) {
          problems.push({ path: `${at}.format`, message: `${format} requires 3 dims, got ${(io.dims ?? []).length}` });
        }
      }
      if (io.name) {
        const first = seen.get(io.name);
        if (first !== undefined) {
          problems.push({ path: `${at}.name`, message: `${field} '${io.name}' is already declared at ${field}[${first}]; Triton's core takes both`, warning: true });
        } else seen.set(io.name, i);
      }
    });
  }
  return problems;
}
