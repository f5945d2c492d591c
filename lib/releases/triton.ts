import { compareVersions, versionParts } from './tensorrt';

/**
 * The TensorRT version each Triton container release (`nvcr.io/nvidia/tritonserver:<release>-py3`)
 * ships: a plan served by that release must be built by that TensorRT (tensorrt_backend deserialises
 * with the container's libnvinfer; a plan of another version fails "Version tag does not match" /
 * "expecting library version X got Y", server#3845, pytorch/TensorRT#1059).
 *
 * Sources: NVIDIA's Frameworks Support Matrix and the Triton release notes
 * (https://docs.nvidia.com/deeplearning/frameworks/support-matrix/, .../triton-inference-server/release-notes/rel-YY-MM.html),
 * the Triton compatibility page (user-guide/docs/introduction/compatibility.html, its trtllm-python-py3 table:
 * 24.05 10.0.1.6, 24.08 10.3.0, 24.12 10.7.0, 25.01 10.8.0.43) and the Model Navigator support matrix
 * (24.02: TensorRT 8.6.3). The other rows follow the release notes' "NVIDIA Triton Inference Server
 * Container Versions" tables and were not re-read for this table: check a row against
 * `docker run nvcr.io/nvidia/tritonserver:<release>-py3 dpkg -l libnvinfer10` before relying on it.
 * Versions are compared on major.minor.patch. Adding a release is one line here.
 */
const TRITON_TENSORRT: ReadonlyArray<readonly [string, string]> = [
  ['23.01', '8.5.2'],
  ['23.02', '8.5.3'],
  ['23.03', '8.5.3'],
  ['23.04', '8.6.1'],
  ['23.05', '8.6.1'],
  ['23.06', '8.6.1'],
  ['23.07', '8.6.1'],
  ['23.08', '8.6.1'],
  ['23.09', '8.6.1'],
  ['23.10', '8.6.1'],
  ['23.11', '8.6.1'],
  ['23.12', '8.6.1'],
  ['24.01', '8.6.1'],
  ['24.02', '8.6.3'],
  ['24.03', '8.6.3'],
  ['24.04', '8.6.3'],
  ['24.05', '10.0.1'],
  ['24.06', '10.1.0'],
  ['24.07', '10.2.0'],
  ['24.08', '10.3.0'],
  ['24.09', '10.4.0'],
  ['24.10', '10.5.0'],
  ['24.11', '10.6.0'],
  ['24.12', '10.7.0'],
  ['25.01', '10.8.0'],
  ['25.02', '10.8.0'],
  ['25.03', '10.9.0'],
  ['25.04', '10.9.0'],
  ['25.05', '10.10.0'],
  ['25.06', '10.11.0'],
  ['25.07', '10.11.0'],
  ['25.08', '10.13.2'],
  ['25.09', '10.13.3'],
  ['25.10', '10.13.3'],
  ['25.11', '10.14.1'],
  ['25.12', '10.14.1'],
];

const BY_RELEASE = new Map(TRITON_TENSORRT);

export const TRITON_RELEASES: readonly string[] = TRITON_TENSORRT.map(([r]) => r);

/** The TensorRT version (major.minor.patch) Triton `release` ships; undefined for a release not in the table. */
export function tensorRtOfTriton(release: string): string | undefined {
  return BY_RELEASE.get(release);
}

/** "24.08" or an unknown release: the problem with it, if any. */
export function tritonReleaseProblem(release: string): string | undefined {
  if (BY_RELEASE.has(release)) return undefined;
  const shape = /^\d{2}\.\d{2}$/.test(release) ? 'is not a Triton release nx-triton knows' : 'is not a Triton release such as "24.08"';
  return `${JSON.stringify(release)} ${shape} (known: ${TRITON_RELEASES[0]} to ${TRITON_RELEASES[TRITON_RELEASES.length - 1]})`;
}

/**
 * Whether a plan built by TensorRT `built` loads in Triton `release`: the same major.minor.patch, or,
 * for a version-compatible plan, an older or equal version of the same major (TensorRT's version
 * compatibility runs a plan on later versions of its major, never on earlier ones).
 * Returns the problem, or undefined when it loads.
 */
export function planReleaseMismatch(built: string, release: string, versionCompatible: boolean): string | undefined {
  const serves = tensorRtOfTriton(release);
  if (serves === undefined) return tritonReleaseProblem(release);
  const b = versionParts(built).slice(0, 3);
  const s = versionParts(serves).slice(0, 3);
  if (compareVersions(b, s) === 0) return undefined;
  if (versionCompatible && b[0] === s[0] && compareVersions(b, s) < 0) return undefined;
  const vc = versionCompatible
    ? ` (a version-compatible plan runs on the same or a later ${b[0]}.x only)`
    : '';
  return `Triton ${release} serves plans of TensorRT ${serves}; this one is TensorRT ${b.join('.')}${vc}`;
}
