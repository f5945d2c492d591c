/**
 * What each Triton container release's onnxruntime backend loads: the ONNX Runtime version the
 * release ships, and the newest ONNX IR version and opsets (per domain) that ONNX Runtime loads.
 *
 * ONNX Runtime refuses, when it loads a model (Triton's onnxruntime_backend creates the session with
 * ORT's plain CreateSession, src/onnxruntime_loader.cc, and sets no ALLOW_RELEASED_ONNX_OPSET_ONLY):
 * - an IR version above its own ONNX's (onnxruntime/core/graph/model.cc: "Unsupported model IR
 *   version: 10, max supported IR version: 9");
 * - an opset of ai.onnx or ai.onnx.ml above the last one its ONNX released
 *   (onnxruntime/core/graph/model_load_utils.h ValidateOpsetForDomain: "ONNX Runtime only
 *   *guarantees* support for models stamped with official released onnx opset versions. Opset 20
 *   is under development ... Current official support for domain ai.onnx is till opset 19.").
 * Other domains (com.microsoft, custom ops) are not checked by it, nor here.
 *
 * Sources.
 * Triton release -> ONNX Runtime: Triton's own "ONNX Runtime Versions" table (server
 * docs/introduction/compatibility.md, 24.04 on) and, for every release, the `ort_version` of
 * TRITON_VERSION_MAP in build.py on the server's release branch r<YY.MM> (the version the container
 * is built with). They agree on every release but 24.08: build.py r24.08 says 1.19.0, the
 * compatibility page 1.18.1; both load IR 10, ai.onnx 21, ai.onnx.ml 5, so the check is the same.
 * ONNX Runtime -> IR/opsets: ONNX Runtime's compatibility table ("ONNX opset support",
 * onnxruntime.ai/docs/reference/compatibility.html) and, deciding where it differs, measured: each
 * onnxruntime wheel from PyPI (1.13.1 and 1.14.1 on Python 3.10, the others on 3.11) loaded
 * models stamped with each IR version and opset (scripts/probe-onnxruntime.py). The table says
 * 1.15: IR 8 and 1.18-1.20: ai.onnx.ml 4; the runtimes load IR 9 and ai.onnx.ml 5. ONNX Runtime
 * 1.15 accepts an ai.onnx 19 stamp but has no kernel for some ops of opset 19 ("Could not find an
 * implementation for Identity(19)"), so 18 is what it loads whole.
 * Adding a Triton release is one line in TRITON_ONNXRUNTIME (and its TensorRT line in triton.ts);
 * a new ONNX Runtime minor is one line in ONNXRUNTIME_LOADS.
 */
const TRITON_ONNXRUNTIME: ReadonlyArray<readonly [string, string]> = [
  ['23.01', '1.13.1'],
  ['23.02', '1.13.1'],
  ['23.03', '1.14.1'],
  ['23.04', '1.14.1'],
  ['23.05', '1.15.0'],
  ['23.06', '1.15.0'],
  ['23.07', '1.15.1'],
  ['23.08', '1.15.1'],
  ['23.09', '1.16.0'],
  ['23.10', '1.16.0'],
  ['23.11', '1.16.3'],
  ['23.12', '1.16.3'],
  ['24.01', '1.16.3'],
  ['24.02', '1.16.3'],
  ['24.03', '1.17.2'],
  ['24.04', '1.17.3'],
  ['24.05', '1.18.0'],
  ['24.06', '1.18.0'],
  ['24.07', '1.18.1'],
  ['24.08', '1.19.0'],
  ['24.09', '1.19.2'],
  ['24.10', '1.19.2'],
  ['24.11', '1.19.2'],
  ['24.12', '1.20.1'],
  ['25.01', '1.20.1'],
  ['25.02', '1.20.1'],
  ['25.03', '1.21.0'],
  ['25.04', '1.21.0'],
  ['25.05', '1.22.0'],
  ['25.06', '1.22.0'],
  ['25.07', '1.22.0'],
  ['25.08', '1.23.0'],
  ['25.09', '1.23.0'],
  ['25.10', '1.23.1'],
  ['25.11', '1.23.2'],
  ['25.12', '1.23.2'],
];

/** ONNX Runtime major.minor -> the newest IR version, ai.onnx opset and ai.onnx.ml opset it loads. */
const ONNXRUNTIME_LOADS: ReadonlyArray<readonly [string, number, number, number]> = [
  ['1.13', 8, 17, 3],
  ['1.14', 8, 18, 3],
  ['1.15', 9, 18, 3],
  ['1.16', 9, 19, 3],
  ['1.17', 9, 20, 4],
  ['1.18', 10, 21, 5],
  ['1.19', 10, 21, 5],
  ['1.20', 10, 21, 5],
  ['1.21', 10, 22, 5],
  ['1.22', 10, 22, 5],
  ['1.23', 11, 23, 5],
];

/** The opset domains ONNX Runtime checks against its ONNX's releases ('' is ai.onnx too). */
export const CHECKED_DOMAINS = ['ai.onnx', 'ai.onnx.ml'] as const;
export type CheckedDomain = (typeof CHECKED_DOMAINS)[number];

export interface OnnxLoads {
  /** The Triton release. */
  release: string;
  /** The ONNX Runtime version it ships (`1.16.3`). */
  onnxruntime: string;
  /** The newest ONNX IR version it loads. */
  ir: number;
  /** The newest opset of each checked domain it loads. */
  opsets: Readonly<Record<CheckedDomain, number>>;
}

const ORT_OF = new Map(TRITON_ONNXRUNTIME);
const LOADS_OF = new Map(ONNXRUNTIME_LOADS.map(([minor, ir, onnx, ml]) => [minor, { ir, opsets: { 'ai.onnx': onnx, 'ai.onnx.ml': ml } }]));

/** The Triton releases of the table, oldest first (the same as TRITON_RELEASES: a test holds them together). */
export const ONNXRUNTIME_RELEASES: readonly string[] = TRITON_ONNXRUNTIME.map(([r]) => r);

/** What Triton `release`'s ONNX Runtime loads; undefined for a release not in the table. */
export function onnxLoadsOf(release: string): OnnxLoads | undefined {
  const onnxruntime = ORT_OF.get(release);
  if (onnxruntime === undefined) return undefined;
  const loads = LOADS_OF.get(onnxruntime.split('.').slice(0, 2).join('.'));
  return loads && { release, onnxruntime, ...loads };
}

/** An ONNX model's version stamps: `ir_version` and `opset_import` (domain '' is ai.onnx). */
export interface OnnxStamps {
  irVersion: number;
  opsets: ReadonlyArray<{ domain: string; version: number }>;
}

/** The model's opset of each checked domain (the highest, should one be listed twice); absent when not imported. */
export function checkedOpsets(model: OnnxStamps): Partial<Record<CheckedDomain, number>> {
  const out: Partial<Record<CheckedDomain, number>> = {};
  for (const { domain, version } of model.opsets) {
    const d = domain === '' ? 'ai.onnx' : domain;
    if ((CHECKED_DOMAINS as readonly string[]).includes(d)) out[d as CheckedDomain] = Math.max(out[d as CheckedDomain] ?? 0, version);
  }
  return out;
}

/** What of the model's stamps Triton `release`'s ONNX Runtime refuses: the IR version, and each domain whose opset is too new. */
export interface OnnxRefusal {
  loads: OnnxLoads;
  ir?: number;
  opsets: Array<{ domain: CheckedDomain; version: number }>;
}

/** Whether Triton `release` loads the model's IR version and opsets; the refusal, or undefined (also for a release not in the table). */
export function onnxRefusal(model: OnnxStamps, release: string): OnnxRefusal | undefined {
  const loads = onnxLoadsOf(release);
  if (!loads) return undefined;
  const opsets = Object.entries(checkedOpsets(model))
    .filter(([d, v]) => v > loads.opsets[d as CheckedDomain])
    .map(([d, v]) => ({ domain: d as CheckedDomain, version: v }));
  const ir = model.irVersion > loads.ir ? model.irVersion : undefined;
  return ir === undefined && opsets.length === 0 ? undefined : { loads, ir, opsets };
}

/** The oldest Triton release of the table whose ONNX Runtime loads the model; undefined when none does. */
export function oldestReleaseLoading(model: OnnxStamps): OnnxLoads | undefined {
  for (const release of ONNXRUNTIME_RELEASES) if (!onnxRefusal(model, release)) return onnxLoadsOf(release);
  return undefined;
}

/**
 * The highest default opset of a torch nx-triton supports: torch 2.9 and later export opset 20 by
 * default with either exporter (torch.onnx._constants.ONNX_DEFAULT_OPSET; 2.15 measured), older
 * ones less (torch 1.13: 14). A release whose ONNX Runtime loads it needs no choice.
 */
const HIGHEST_TORCH_DEFAULT_OPSET = 20;
/**
 * The opset chosen below that: one every supported exporter writes. torch 1.13's TorchScript-based
 * exporter stops at 17 (ONNX_MAX_OPSET) and writes IR 8 there; torch 2.x's writes 17 too (the dynamo
 * exporter by converting down from 18, but it writes IR 10, which no release that needs a lower
 * opset loads: the build says so).
 */
const PORTABLE_OPSET = 17;

/**
 * `export.torch.opset` when the model leaves it unset and names the Triton release that serves it:
 * undefined where torch's own default fits that release's ONNX Runtime (or the release is unknown),
 * else the portable opset 17 (releases up to 24.02, whose ONNX Runtime stops at opset 17 to 19).
 */
export function opsetForRelease(release: string | undefined): number | undefined {
  const loads = release === undefined ? undefined : onnxLoadsOf(release);
  if (!loads || loads.opsets['ai.onnx'] >= HIGHEST_TORCH_DEFAULT_OPSET) return undefined;
  return Math.min(loads.opsets['ai.onnx'], PORTABLE_OPSET);
}
