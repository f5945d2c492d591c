import { formatFingerprint } from '../lib/engine/fingerprint';
import { resolveStoreDir } from '../lib/engine/store';
import { UserError } from '../lib/errors';
import { loadServerToken, TOKEN_ENV } from '../lib/engine/remote/auth';
import { startBuilder } from '../lib/engine/remote/server';
import { parseVerb, processIo, type Io } from './args';

const USAGE = `usage: nx-triton builder [--host 127.0.0.1] [--port 8000] [--token-file FILE | --insecure-no-auth]
                         [--max-upload-bytes 2G] [--jobs 1] [--queue 4] [--engine-cache DIR]
                         [--trtexec PATH] [--request-timeout 3600] [--idle-timeout 60]
                         [--min-upload-rate 16K] [--upload-grace 30]
Serves GET /v1/fingerprint and POST /v1/engines (TensorRT plans built on this machine's GPU).
The bearer token comes from --token-file or env ${TOKEN_ENV}. Put TLS in a reverse proxy in front.`;

/** The options, by name as parseArgs takes them (`--jobs 2` or `--jobs=2`); all strings but two. */
const OPTIONS = {
  'insecure-no-auth': { type: 'boolean' },
  host: { type: 'string' },
  port: { type: 'string' },
  'token-file': { type: 'string' },
  'max-upload-bytes': { type: 'string' },
  jobs: { type: 'string' },
  queue: { type: 'string' },
  'engine-cache': { type: 'string' },
  trtexec: { type: 'string' },
  'request-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'min-upload-rate': { type: 'string' },
  'upload-grace': { type: 'string' },
} as const;

/** `nx-triton builder`: runs until SIGINT/SIGTERM; 2 on a usage error, 1 when it cannot start. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const parsed = parseVerb(argv, { verb: 'builder', usage: USAGE, options: OPTIONS }, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const insecure = values['insecure-no-auth'] === true;
  try {
    const token = loadServerToken({ tokenFile: values['token-file'] });
    if (token === undefined && !insecure) {
      throw new UserError(`no token: set ${TOKEN_ENV} or pass --token-file (or --insecure-no-auth to run without authentication)`);
    }
    if (token !== undefined && insecure) throw new UserError('--insecure-no-auth given together with a token; choose one');
    const host = values.host ?? '127.0.0.1';
    const engineCache = values['engine-cache'] ?? resolveStoreDir();
    const builder = await startBuilder({
      host,
      port: integer(values.port, '--port', 8000, 0, 65535),
      token,
      maxUploadBytes: byteSize(values['max-upload-bytes'] ?? '2G'),
      jobs: integer(values.jobs, '--jobs', 1, 1, 1024),
      queue: integer(values.queue, '--queue', 4, 0, 100_000),
      engineCache,
      trtexec: values.trtexec,
      requestTimeoutMs: integer(values['request-timeout'], '--request-timeout', 3600, 1, 7 * 86400) * 1000,
      idleTimeoutMs: integer(values['idle-timeout'], '--idle-timeout', 60, 1, 86400) * 1000,
      minUploadBytesPerSecond: byteSize(values['min-upload-rate'] ?? '16K', '--min-upload-rate'),
      uploadGraceMs: integer(values['upload-grace'], '--upload-grace', 30, 1, 86400) * 1000,
    });
    console.log(`nx-triton builder: listening on ${builder.url} (${formatFingerprint(builder.fingerprint)}; store ${engineCache})`);
    if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
      console.log('nx-triton builder: serving plain HTTP beyond loopback: put a TLS reverse proxy in front of it');
    }
    if (token === undefined) console.log('nx-triton builder: WARNING: authentication is off (--insecure-no-auth)');
    await new Promise<void>((done) => {
      const stop = (signal: string): void => {
        console.log(`nx-triton builder: ${signal}: finishing running builds, then stopping (again to stop now)`);
        process.once(signal, () => process.exit(130));
        builder.close().then(done, done);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`nx-triton builder: ${err.message}\n`);
    return 1;
  }
}

function integer(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UserError(`${flag}: expected an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

/** `1048576`, `512M`, `2G`, `2GiB` (K/M/G/T are powers of 1024). */
export function byteSize(text: string, flag = '--max-upload-bytes'): number {
  const m = /^(\d+)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  if (!m) throw new UserError(`${flag}: expected a size such as 2147483648, 512M or 2G, got "${text}"`);
  const scale = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[(m[2] ?? '').toUpperCase() as 'K'] ?? 1;
  return Number(m[1]) * scale;
}
