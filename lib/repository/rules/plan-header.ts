import { open } from 'node:fs/promises';
import { planReleaseMismatch } from '../../releases/triton';

export interface PlanHeader {
  /** TensorRT major.minor.patch.build read from bytes 24..27 (plans from TensorRT 8.6 on). */
  version: string;
}

const MAGIC = 0x74727466; // "ftrt" as a little-endian u32

/** Reads a TensorRT plan's header; a problem message when it is not a plan. */
export async function readPlanHeader(file: string): Promise<PlanHeader | { problem: string }> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(28);
    const { bytesRead } = await fh.read(buf, 0, 28, 0);
    if (bytesRead < 28) return { problem: `not a TensorRT plan: ${bytesRead} bytes, shorter than a plan header` };
    const magic = buf.readUInt32LE(0);
    if (magic !== MAGIC) {
      return { problem: `not a TensorRT plan: the file does not start with the plan magic 'ftrt' (got 0x${magic.toString(16).padStart(8, '0')})` };
    }
    return { version: [buf[24], buf[25], buf[26], buf[27]].join('.') };
  } finally {
    await fh.close();
  }
}

/**
 * What is wrong with a plan's header, if anything: not a plan, or (with `tritonRelease`, from
 * `validate --triton-release`) built by a TensorRT that release does not ship. Triton's TensorRT
 * backend deserialises with the container's TensorRT and refuses a plan of another version
 * (tensorrt_backend model_state.cc / TensorRT runtime "expecting library version").
 */
export function planHeaderProblem(header: PlanHeader | { problem: string }, tritonRelease?: string): string | undefined {
  if ('problem' in header) return header.problem;
  if (tritonRelease === undefined) return undefined;
  const mismatch = planReleaseMismatch(header.version, tritonRelease, false);
  return mismatch && `${mismatch.replace('this one is', 'this plan was built by')} (a plan built version-compatible by an older TensorRT of the same major still loads)`;
}
