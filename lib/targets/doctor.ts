import { execFileSync } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { readFingerprint, tensorRtVersionText, type Fingerprint } from '../engine/fingerprint';
import { describeError } from '../errors';
import { DYNAMO_TORCH, PYTHON_PACKAGES } from '../releases/python-packages';
import { compareVersions, versionParts } from '../releases/tensorrt';
import { backendDirectoryOf, backendsIn } from '../triton/backends';
import { locateTritonServer } from '../triton/locate';
import { locatePerfAnalyzer, PERF_ANALYZER_INSTALL } from '../triton/perf-analyzer';
import { resolvePython } from '../system/python';
import { nxWorkspaceAround } from './serve';

/** torch.onnx.export defaults to the dynamo exporter from this torch on (python/export_torch.py DYNAMO_DEFAULT_FROM). */
const DYNAMO_DEFAULT_TORCH = '2.9';

const INSTALL_ALL = 'pip install -r node_modules/nx-triton/python/requirements.txt';

/** One thing doctor looked at: what it found, whether that is enough, and how to get it when not. */
export interface Finding {
  name: string;
  /** What was found (a version, a path), or what is missing. */
  found: string;
  /** ok: usable; missing: needed and absent or too old; absent: optional and not there. */
  status: 'ok' | 'missing' | 'absent';
  /** Where it comes from, or what it is for. */
  note?: string;
  /** The command that installs it (not for `ok`). */
  fix?: string;
}

export interface DoctorReport {
  workspace?: string;
  python: { command: string; from: string; executable?: string; version?: string };
  findings: Finding[];
  /** The export toolchain is complete (torch, numpy, onnx, onnxruntime, and onnxscript where the default exporter is dynamo). */
  ok: boolean;
}

export interface DoctorOptions {
  /** `--python`, else env NX_TRITON_PYTHON, else nx.json's `python`, else python3. */
  python?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const QUERY = [
  'import json,sys,importlib.metadata as m,importlib.util as u',
  'def v(d):',
  ' try: return m.version(d)',
  ' except m.PackageNotFoundError:',
  '  try: return "unknown" if u.find_spec(d.replace("-","_").replace("nvidia_pytriton","pytriton")) else None',
  '  except Exception: return None',
  `print(json.dumps({"executable":sys.executable,"version":sys.version.split()[0],"packages":{d:v(d) for d in ${JSON.stringify(PYTHON_PACKAGES.map((p) => p.name))}}}))`,
].join('\n');

interface PythonAnswer {
  executable: string;
  version: string;
  packages: Record<string, string | null>;
}

function minimumOf(name: string): string {
  return PYTHON_PACKAGES.find((p) => p.name === name)?.minimum ?? '0';
}

function older(have: string, minimum: string): boolean {
  try {
    return compareVersions(versionParts(have), versionParts(minimum)) < 0;
  } catch {
    return false;
  }
}

/**
 * What this machine will use for nx-triton, and why: the interpreter (and where its name came
 * from), its packages against python/requirements.txt, the exporter that follows, the tritonserver
 * found and its backends, trtexec and the GPU (nvidia-smi), perf_analyzer; each missing piece with
 * the command that installs it.
 */
export async function runDoctor(o: DoctorOptions = {}): Promise<DoctorReport> {
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const workspace = nxWorkspaceAround(cwd);
  const option = (key: string): string | undefined => {
    const v = workspace?.options[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const nxPython = option('python');
  const from = o.python !== undefined ? '--python' : env.NX_TRITON_PYTHON ? 'NX_TRITON_PYTHON' : nxPython !== undefined ? `nx.json's "python" option` : 'the default';
  const python = resolvePython(o.python ?? nxPython, o.python !== undefined ? { ...env, NX_TRITON_PYTHON: '' } : env, o.python !== undefined ? cwd : workspace?.root ?? cwd);
  const report: DoctorReport = { ...(workspace ? { workspace: workspace.root } : {}), python: { command: python, from }, findings: [], ok: true };

  let answer: PythonAnswer | undefined;
  try {
    answer = JSON.parse(execFileSync(python, ['-c', QUERY], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env }));
  } catch (err) {
    report.findings.push({ name: 'python', found: `${python} could not be run (${(err as Error).message.split('\n')[0]})`, status: 'missing', fix: `point --python, NX_TRITON_PYTHON or nx.json's "python" option at a Python 3 with torch` });
  }
  if (answer) {
    report.python.executable = answer.executable;
    report.python.version = answer.version;
    for (const p of PYTHON_PACKAGES) {
      const have = answer.packages[p.name];
      const fix = `pip install "${p.name}>=${p.minimum}" (or ${INSTALL_ALL})`;
      // onnxscript serves the dynamo exporter only: the exporter finding says whether it is needed here.
      const optional = p.optional || p.name === 'onnxscript';
      if (have === null || have === undefined) report.findings.push({ name: p.name, found: 'not installed', status: optional ? 'absent' : 'missing', note: p.purpose, fix });
      else if (older(have, p.minimum)) report.findings.push({ name: p.name, found: `${have} (older than ${p.minimum})`, status: optional ? 'absent' : 'missing', note: p.purpose, fix });
      else report.findings.push({ name: p.name, found: have, status: 'ok', note: p.purpose });
    }
    const onnxscript = answer.packages.onnxscript;
    report.findings.push(exporterFinding(answer.packages.torch, onnxscript && !older(onnxscript, minimumOf('onnxscript')) ? onnxscript : null));
  }
  report.findings.push(tritonserverFinding(option('tritonserver'), python, env, workspace?.root ?? cwd));
  const fingerprint = await readFingerprint({ env });
  report.findings.push(...gpuFindings(fingerprint));
  report.findings.push(perfAnalyzerFinding(option('perfAnalyzer'), python, env, workspace?.root ?? cwd));
  // The export needs its toolchain; the exporter finding says when the default exporter cannot run.
  const needed = new Set(['python', 'torch', 'numpy', 'onnx', 'onnxruntime', 'exporter']);
  report.ok = !report.findings.some((f) => f.status === 'missing' && needed.has(f.name));
  return report;
}

/** The ONNX exporter the installed torch picks (python/export_torch.py choose_exporter), and whether it can run. */
function exporterFinding(torch: string | null | undefined, onnxscript: string | null | undefined): Finding {
  const name = 'exporter';
  if (!torch) return { name, found: 'none (no torch)', status: 'missing', fix: `${INSTALL_ALL}` };
  const version = torch === 'unknown' ? undefined : torch;
  if (version !== undefined && older(version, DYNAMO_TORCH)) {
    return { name, found: 'torchscript', status: 'ok', note: `torch ${version} has only the TorchScript-based exporter (the dynamo exporter came with torch ${DYNAMO_TORCH})` };
  }
  if (version !== undefined && older(version, DYNAMO_DEFAULT_TORCH)) {
    return { name, found: 'torchscript', status: 'ok', note: `torch ${version}'s default; exporter: dynamo ${onnxscript ? 'can run' : 'needs onnxscript'}` };
  }
  if (!onnxscript) {
    return { name, found: `dynamo, which cannot run: onnxscript ${minimumOf('onnxscript')}+ is not installed`, status: 'missing', note: `torch ${torch}'s default exporter`, fix: 'pip install "onnxscript>=0.1", or set exporter: torchscript in export.torch' };
  }
  return { name, found: 'dynamo', status: 'ok', note: `torch ${torch}'s default; exporter: torchscript picks the TorchScript-based one` };
}

function tritonserverFinding(option: string | undefined, python: string, env: NodeJS.ProcessEnv, root: string): Finding {
  try {
    const binary = locateTritonServer({ tritonserver: option && !isAbsolute(option) ? resolve(root, option) : option, python, env, cwd: root });
    const backends = backendsIn(backendDirectoryOf(binary));
    const from = binary.source === 'option' ? `nx.json's "tritonserver" option` : binary.source;
    const only = binary.bundle ? '; nvidia-pytriton has the python backend only: an ONNX, TorchScript or TensorRT model needs NGC\'s Triton container (nvcr.io/nvidia/tritonserver:<release>-py3)' : '';
    return { name: 'tritonserver', found: binary.binary, status: 'ok', note: `from ${from}; backends: ${backends.join(', ') || 'none found'}${only}` };
  } catch (err) {
    return {
      name: 'tritonserver',
      found: 'not found',
      status: 'absent',
      note: describeError(err).replace(/^nx-triton: /, ''),
      fix: 'pip install nvidia-pytriton (python backend only), or NGC\'s Triton container\'s tritonserver on PATH, NX_TRITON_SERVER or the "tritonserver" option',
    };
  }
}

function gpuFindings(fp: Fingerprint): Finding[] {
  const gpu: Finding =
    fp.gpu === 'no-gpu'
      ? { name: 'nvidia-smi', found: 'no NVIDIA GPU', status: 'absent', note: 'TensorRT engines are built on the kind of GPU that runs them', fix: 'an NVIDIA driver and GPU, or tensorrt.builders (nx-triton builder on a GPU node)' }
      : { name: 'nvidia-smi', found: `${fp.gpu.name}, compute capability ${fp.gpu.computeCapability}, driver ${fp.gpu.driver}`, status: 'ok' };
  const trtexec: Finding =
    fp.tensorrt === 'no-tensorrt'
      ? { name: 'trtexec', found: 'not found', status: 'absent', note: 'builds TensorRT engines (engine target)', fix: "TensorRT's bin directory on PATH (NGC's TensorRT container: /usr/src/tensorrt/bin), or tensorrt.trtexec" }
      : { name: 'trtexec', found: `TensorRT ${tensorRtVersionText(fp.tensorrt)}`, status: 'ok' };
  return [trtexec, gpu];
}

function perfAnalyzerFinding(option: string | undefined, python: string, env: NodeJS.ProcessEnv, root: string): Finding {
  try {
    const found = locatePerfAnalyzer({ perfAnalyzer: option, python, env, cwd: root });
    return { name: 'perf_analyzer', found: found.binary, status: 'ok', note: `from ${found.source}${found.version ? ` ${found.version}` : ''} (the tune target)` };
  } catch (err) {
    return { name: 'perf_analyzer', found: 'not found', status: 'absent', note: 'measures candidates for the tune target', fix: PERF_ANALYZER_INSTALL };
  }
}

/** The report as lines: what is used and why, then each missing piece with how to get it. */
export function formatDoctor(r: DoctorReport): string[] {
  const mark = { ok: 'ok', missing: 'MISSING', absent: '-' } as const;
  const lines = [
    ...(r.workspace ? [`workspace     ${r.workspace}`] : []),
    `python        ${r.python.command}${r.python.executable && r.python.executable !== r.python.command ? ` (${r.python.executable})` : ''}${r.python.version ? ` ${r.python.version}` : ''}, from ${r.python.from}`,
  ];
  const width = Math.max(...r.findings.map((f) => f.name.length)) + 2;
  for (const f of r.findings) {
    lines.push(`${`${mark[f.status]}`.padEnd(8)}${f.name.padEnd(width)}${f.found}${f.note ? ` — ${f.note}` : ''}`);
    if (f.status !== 'ok' && f.fix) lines.push(`${' '.repeat(8 + width)}fix: ${f.fix}`);
  }
  lines.push(r.ok ? 'the export toolchain is complete' : 'the export toolchain is incomplete: see MISSING above');
  return lines;
}
