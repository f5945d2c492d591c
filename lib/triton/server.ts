import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { UserError } from '../errors';
import { HEARTBEAT_MS, ownerGone, ownerOfMatch, ownerTag, OWNER_PATTERN } from '../system/owner';
import { childEnv } from '../system/child-env';
import { locateTritonServer, type LocateOptions, type PytritonBundle, type TritonServerBinary } from './locate';

/**
 * Runs a real `tritonserver` on a model repository, on loopback ports, until stopped.
 *
 * Process tree: this process → a small node watchdog (stdin piped from us) → tritonserver in a
 * process group of its own, with the python backend's stub processes under it. The watchdog stops
 * the whole group when we ask, when it gets SIGINT/SIGTERM (Ctrl-C), and when its stdin closes
 * because we died (even by SIGKILL): no server or stub outlives its caller.
 */
export interface StartOptions extends LocateOptions {
  repository: string;
  /** Models to load (`--model-control-mode=explicit --load-model=…`); `[]` loads none, `'*'` all. */
  models?: string[] | '*';
  /** Triton's own flag: configs are taken as written, as our build writes them complete. */
  disableAutoCompleteConfig?: boolean;
  /** 0 or absent: a free port. */
  httpPort?: number;
  grpcPort?: number;
  metricsPort?: number;
  /** Each line Triton logs (stdout and stderr), as it comes. */
  onLog?: (line: string) => void;
  /** How long to wait for `/v2/health/ready` (default 120 s). */
  readyTimeoutMs?: number;
  /** More tritonserver flags; a path in them must be absolute (the server runs in a directory of its own). */
  extraArgs?: string[];
  /** Aborting it stops the server, also while it is still starting (the start then rejects). */
  abort?: AbortSignal;
  /** The server, when the caller has located it already (else found from the LocateOptions). */
  binary?: TritonServerBinary;
}

export interface RunningTriton {
  binary: TritonServerBinary;
  url: string;
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  /** The watchdog's pid (tritonserver runs under it). */
  pid: number;
  /** The last lines Triton logged. */
  log(): string;
  /** Resolves with the exit code when the server has stopped (by itself or by `stop`). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

// The watchdog, run with `node -e` in the run directory: argv = [graceMs, runDir, binary, ...args].
// It removes the run directory once tritonserver is gone, also when its caller was killed, and while
// the server runs refreshes the directory's mtime: the heartbeat by which a process in another PID
// namespace judges it (lib/system/owner.ts).
const WATCHDOG = `
const { spawn } = require('node:child_process');
const { rmSync, utimesSync } = require('node:fs');
const [grace, runDir, bin, ...args] = process.argv.slice(1);
setInterval(() => { const now = new Date(); try { utimesSync(runDir, now, now); } catch {} }, ${HEARTBEAT_MS}).unref();
const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
const group = (sig) => { try { process.kill(-child.pid, sig); } catch {} };
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  try { child.kill('SIGTERM'); } catch {}
  setTimeout(() => group('SIGKILL'), Number(grace)).unref();
}
process.stdin.on('close', stop);
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', stop);
child.on('error', (e) => { process.stderr.write('nx-triton: cannot start ' + bin + ': ' + e.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => {
  group('SIGKILL');
  try { rmSync(runDir, { recursive: true, force: true }); } catch {}
  process.exit(code ?? (signal ? 128 : 1));
});
`;

/** Triton waits for in-flight requests on SIGTERM; after this the group is killed. */
const STOP_GRACE_MS = 10_000;
const LOG_LINES = 400;

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** nvidia-pytriton's python backend, with the stub for our Python, as `<dir>/python/`. */
export function writeBundlePythonBackend(bundle: PytritonBundle, dir: string): void {
  const python = join(dir, 'python');
  mkdirSync(python);
  const from = join(bundle.root, 'backends', 'python');
  copyFileSync(join(from, 'libtriton_python.so'), join(python, 'libtriton_python.so'));
  copyFileSync(join(from, 'triton_python_backend_utils.py'), join(python, 'triton_python_backend_utils.py'));
  copyFileSync(bundle.stub, join(python, 'triton_python_backend_stub'));
}

/**
 * Each server runs in a directory of its own under the system temp dir, `nx-triton-serve-<owner>-<random>`
 * (owner: lib/system/owner.ts): its working directory `cwd/` (empty), and for nvidia-pytriton's bundle
 * its backend directory `backends/`. The working directory is where the python backend's stubs import
 * from first (their embedded interpreter puts it on sys.path, PYTHONSAFEPATH or not): never the
 * directory `serve` was started in, whose `numpy.py` would shadow numpy in every model.py. The
 * watchdog removes the run directory when the server is gone; a run directory whose owner died with
 * its watchdog (both SIGKILLed) is removed by the next start.
 */
const RUN_DIR_PREFIX = 'nx-triton-serve-';
const RUN_DIR = new RegExp(`^${RUN_DIR_PREFIX}${OWNER_PATTERN}-[0-9a-f]{8}$`);

/** Removes the run directories under `parent` whose owner is certainly gone; returns their names. */
export function sweepRunDirs(parent = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = RUN_DIR.exec(name);
    if (!m) continue;
    const beat = statSync(join(parent, name), { throwIfNoEntry: false })?.mtimeMs;
    if (beat === undefined || !ownerGone(ownerOfMatch(m), beat)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function makeRunDir(): string {
  sweepRunDirs();
  const dir = join(tmpdir(), `${RUN_DIR_PREFIX}${ownerTag()}-${randomBytes(4).toString('hex')}`);
  mkdirSync(join(dir, 'cwd'), { recursive: true });
  return dir;
}

/** A backend directory for nvidia-pytriton's bundle: its python backend plus the stub for our Python. */
function bundleBackends(binary: TritonServerBinary, runDir: string): { dir: string; args: string[]; env: NodeJS.ProcessEnv } | undefined {
  const bundle = binary.bundle;
  if (!bundle) return undefined;
  const dir = join(runDir, 'backends');
  mkdirSync(dir);
  writeBundlePythonBackend(bundle, dir);
  const ld = [bundle.libDir, bundle.libPythonDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter);
  const pythonPath = [...bundle.sitePackages, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  return {
    dir,
    args: [`--backend-directory=${dir}`, `--cache-directory=${join(bundle.root, 'caches')}`],
    env: { LD_LIBRARY_PATH: ld, PYTHONPATH: pythonPath },
  };
}

export async function startTritonServer(options: StartOptions): Promise<RunningTriton> {
  const binary = options.binary ?? locateTritonServer(options);
  const [httpPort, grpcPort, metricsPort] = [
    options.httpPort || (await freePort()),
    options.grpcPort || (await freePort()),
    options.metricsPort || (await freePort()),
  ];
  const runDir = makeRunDir();
  let backends: ReturnType<typeof bundleBackends>;
  try {
    backends = bundleBackends(binary, runDir);
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  const models = options.models ?? '*';
  const args = [
    // Absolute: the server runs in its own working directory. A bucket (s3://, gs://, as://) is Triton's own URL.
    `--model-repository=${/^(s3|gs|as):\/\//.test(options.repository) ? options.repository : resolve(options.repository)}`,
    `--http-address=127.0.0.1`,
    `--grpc-address=127.0.0.1`,
    `--metrics-address=127.0.0.1`,
    `--http-port=${httpPort}`,
    `--grpc-port=${grpcPort}`,
    `--metrics-port=${metricsPort}`,
    '--model-control-mode=explicit',
    ...(models === '*' ? ['--load-model=*'] : models.map((m) => `--load-model=${m}`)),
    ...(options.disableAutoCompleteConfig ? ['--disable-auto-complete-config'] : []),
    ...(backends?.args ?? []),
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHDOG, String(STOP_GRACE_MS), runDir, resolve(binary.binary), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // The stubs run the models' own code: no builder token there (childEnv).
    env: childEnv(backends?.env),
    cwd: join(runDir, 'cwd'),
  });
  const lines: string[] = [];
  const take = (chunk: Buffer, rest: { text: string }) => {
    rest.text += chunk.toString('utf8');
    const parts = rest.text.split('\n');
    rest.text = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > LOG_LINES) lines.shift();
      options.onLog?.(line);
    }
  };
  const out = { text: '' };
  const err = { text: '' };
  child.stdout?.on('data', (c: Buffer) => take(c, out));
  child.stderr?.on('data', (c: Buffer) => take(c, err));
  const exited = new Promise<number | null>((resolveExit) => {
    child.on('exit', (code) => {
      rmSync(runDir, { recursive: true, force: true });
      resolveExit(code);
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${httpPort}`;
  const server: RunningTriton = {
    binary,
    url,
    httpPort,
    grpcPort,
    metricsPort,
    pid: child.pid ?? -1,
    log: () => lines.join('\n'),
    exited,
    async stop() {
      if (!gone) {
        child.stdin?.end();
        child.kill('SIGTERM');
      }
      await exited;
    },
  };
  options.abort?.addEventListener('abort', () => void server.stop(), { once: true });
  if (options.abort?.aborted) void server.stop();
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (options.abort?.aborted) {
      await exited;
      throw new UserError('nx-triton: tritonserver was stopped before it was ready');
    }
    if (gone) {
      throw new UserError(`nx-triton: tritonserver (${binary.binary}) exited before it was ready; its last lines:\n${tail(lines, 15)}`);
    }
    if (await isReady(url)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new UserError(`nx-triton: tritonserver was not ready at ${url}/v2/health/ready within ${Math.round((options.readyTimeoutMs ?? 120_000) / 1000)} s; its last lines:\n${tail(lines, 15)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(lines: string[], n: number): string {
  return lines.slice(-n).join('\n');
}

export async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
