/**
 * Test helper: the real libprotobuf text-format parser and printer (the code path Triton uses),
 * through `/usr/bin/protoc --encode/--decode`. Runs protoc as an argv, never through a shell.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { requirePeer } from './lane';

export const PROTOC = '/usr/bin/protoc';
const REPO_PROTO_DIR = join(__dirname, '..', 'proto');

export interface ProtocOptions {
  /** Message type to encode/decode (default `inference.ModelConfig`). */
  type?: string;
  /** The .proto file, relative to one of the proto paths (default `model_config.proto`). */
  file?: string;
  /** Extra --proto_path directories, searched before the repository's proto/. */
  protoPaths?: string[];
}

function protocArgs(mode: '--encode' | '--decode', opts: ProtocOptions): string[] {
  const paths = [...(opts.protoPaths ?? []), REPO_PROTO_DIR];
  return [
    ...paths.map((p) => `--proto_path=${p}`),
    `${mode}=${opts.type ?? 'inference.ModelConfig'}`,
    opts.file ?? 'model_config.proto',
  ];
}

function runProtoc(args: string[], input: Buffer): Buffer {
  requirePeer('protoc');
  try {
    return execFileSync(PROTOC, args, { input, maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; status?: number | null; message: string };
    const stderr = e.stderr?.toString().trim();
    throw new Error(`protoc ${args.join(' ')} failed (exit ${e.status ?? '?'}): ${stderr || e.message}`);
  }
}

/** Text format -> wire bytes, parsed by libprotobuf. Throws with protoc's stderr on a parse error. */
export function protocEncode(text: string, opts: ProtocOptions = {}): Buffer {
  return runProtoc(protocArgs('--encode', opts), Buffer.from(text, 'utf8'));
}

/** Wire bytes -> text format, as libprotobuf prints it. */
export function protocDecode(bytes: Uint8Array, opts: ProtocOptions = {}): string {
  return runProtoc(protocArgs('--decode', opts), Buffer.from(bytes)).toString('utf8');
}

/** protoc's verdict on a text: the bytes, or its error message (first line of stderr). */
export function protocParse(text: string, opts: ProtocOptions = {}): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  try {
    return { ok: true, bytes: protocEncode(text, opts) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
