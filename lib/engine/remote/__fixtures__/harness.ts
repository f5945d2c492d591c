import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { distPath } from '../../../../test/dist';
import { standInEnv } from '../../../../test/fixtures/stand-ins';

export const ROOT = resolve(__dirname, '../../../..');
export const ONNX = join(ROOT, 'lib/engine/__fixtures__/relu_batch.onnx');
/** `nx-triton builder` from the built package (call `ensureDist()` first). */
const BUILDER = [distPath('cli/main.js'), 'builder'];
export const TOKEN = 'test-token-0123456789abcdef';

export interface BuilderChild {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL to its whole process group (trtexec included). */
  kill(): void;
}

/** The stand-ins in play, `extra` over them. */
function toolEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...standInEnv(), ...extra };
}

/** Starts `nx-triton builder --port 0 ...` in its own process group; resolves with its URL. */
export function spawnBuilder(args: string[], env: Record<string, string>): Promise<BuilderChild> {
  const proc = spawn(process.execPath, [...BUILDER, '--port', '0', ...args], { env: toolEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const child = (url: string): BuilderChild => ({
    url,
    proc,
    output: () => text,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
    kill: () => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  });
  return new Promise((ok, ko) => {
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) ok(child(m[1]));
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => ko(new Error(`builder exited with ${code}: ${text}`)));
  });
}

/** Runs the builder CLI to its exit (for arguments it refuses). */
export function runBuilderCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const proc = spawn(process.execPath, [...BUILDER, ...args], { env: toolEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d) => (output += d));
    proc.stderr.on('data', (d) => (output += d));
    proc.once('exit', (code) => done({ code, output }));
  });
}
