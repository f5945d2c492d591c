#!/usr/bin/env node
// Upload throughput of a big ONNX to a local `nx-triton builder`, beside plain curl uploads of the
// same file on the same machine. Needs a build (npm run build; or DIST=<tsc outDir>) and curl.
//   node bench/builder-upload.mjs [size-MiB=1024]
// Rows (each one run, loopback):
//   client -> builder      nx-triton's client (requestPlan) until the builder accepted the upload
//                          (streamed to disk, sha256 checked, ONNX signature read)
//   curl -> builder        curl -X POST -T file to the same endpoint, whole reply (a builder store hit)
//   curl -> sink           curl -X POST -T file to a node server that discards the body (the baseline)
//   curl --data-binary     curl --data-binary @file to the sink (curl loads the file first; fails at 1 GiB
//                          with curl 7.88)
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const __dirname = path.dirname(fileURLToPath(import.meta.url));

const ROOT = path.resolve(__dirname, '..');
const DIST = path.resolve(process.env.DIST ?? path.join(ROOT, 'dist'));
const MIB = Number(process.argv[2] ?? 1024);
const TOKEN = 'bench-token-0123456789abcdef';
const { encodeBuildRequest, BUILD_HEADER } = require(path.join(DIST, 'lib/engine/remote/protocol.js'));
const { requestPlan } = require(path.join(DIST, 'lib/engine/remote/client.js'));

/** relu_batch.onnx with a doc_string of the wanted size: still a valid ONNX model. */
function makeOnnx(file) {
  const head = fs.readFileSync(path.join(ROOT, 'lib/engine/__fixtures__/relu_batch.onnx'));
  const payload = MIB * 2 ** 20;
  const len = [];
  for (let v = payload; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      len.push(v);
      break;
    }
    len.push((v % 128) | 128);
  }
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, head);
  fs.writeSync(fd, Buffer.from([0x32, ...len])); // field 6 (doc_string), length-delimited
  const block = Buffer.alloc(8 * 2 ** 20, 0x61);
  for (let left = payload; left > 0; left -= block.length) fs.writeSync(fd, block, 0, Math.min(block.length, left));
  fs.closeSync(fd);
}

function sha256(file) {
  return new Promise((ok) => {
    const h = createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('end', () => ok(h.digest('hex')));
  });
}

function startBuilder(dir) {
  const env = { ...process.env, PATH: `${path.join(ROOT, 'test/fixtures/bin')}${path.delimiter}${process.env.PATH}`, NX_TRITON_BUILDER_TOKEN: TOKEN, FAKE_GPU: 'NVIDIA A100-SXM4-80GB, 8.0, 550.54.15' };
  const code = `require(${JSON.stringify(path.join(DIST, 'cli/builder.js'))}).run(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
  const proc = spawn(process.execPath, ['-e', code, '--', '--port', '0', '--engine-cache', path.join(dir, 'store'), '--max-upload-bytes', '4G'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok) => {
    let text = '';
    proc.stdout.on('data', (d) => {
      text += d;
      const m = /listening on (\S+)/.exec(text);
      if (m) ok({ url: m[1], proc });
    });
  });
}

function startSink() {
  const code = `require('node:http').createServer((q, s) => { q.on('data', () => {}); q.on('end', () => s.end('ok')); }).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok) => proc.stdout.once('data', (d) => ok({ url: `http://127.0.0.1:${/port (\d+)/.exec(String(d))[1]}`, proc })));
}

function curl(args) {
  const out = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_starttransfer} %{time_total} %{http_code}', ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const [first, total, status] = out.trim().split(' ');
  if (status !== '200') throw new Error(`curl ${args.join(' ')}: HTTP ${status}`);
  return { first: Number(first), total: Number(total), status };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nx-triton-upload-'));
  const file = path.join(dir, 'big.onnx');
  try {
    makeOnnx(file);
    const bytes = fs.statSync(file).size;
    const digest = await sha256(file);
    const request = { onnx_sha256: digest, model: 'big', max_batch_size: 8, inputs: [{ name: 'x', dims: [4] }], tensorrt: {} };
    const builder = await startBuilder(dir);
    const sink = await startSink();
    process.once('exit', () => {
      builder.proc.kill('SIGKILL');
      sink.proc.kill('SIGKILL');
    });
    const rate = (s) => `${(bytes / 2 ** 20 / s).toFixed(0)} MiB/s`;
    const rows = [];

    // nx-triton client: time until the builder accepted the upload (the first progress event).
    let accepted;
    const t0 = process.hrtime.bigint();
    await requestPlan(builder.url, {
      token: TOKEN,
      onnxFile: file,
      onnxBytes: bytes,
      request,
      planPath: path.join(dir, 'plan'),
      expected: { key: '', parts: {} },
      retry: { retries: 0 },
      onLog: () => undefined,
      onEvent: (e) => {
        if (e.event === 'accepted') accepted ??= Number(process.hrtime.bigint() - t0) / 1e9;
      },
    }).catch(() => undefined); // the key check fails on purpose: only the upload is measured
    rows.push(['client -> builder (until accepted)', accepted]);

    const hdr = [`-H`, `Authorization: Bearer ${TOKEN}`, '-H', `${BUILD_HEADER}: ${encodeBuildRequest(request)}`, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:'];
    // The client's request left the plan in the builder's store: this reply is a store hit.
    rows.push(['curl -X POST -T -> builder (whole reply, store hit)', curl([...hdr, '-X', 'POST', '-T', file, `${builder.url}/v1/engines`]).total]);
    rows.push(['curl -X POST -T -> sink', curl(['-H', 'Expect:', '-X', 'POST', '-T', file, sink.url]).total]);
    // curl 7.88 loads --data-binary @file into memory and gives up on 1 GiB ("out of memory").
    try {
      rows.push(['curl --data-binary @file -> sink', curl(['-H', 'Expect:', '--data-binary', `@${file}`, sink.url]).total]);
    } catch {
      console.log('  (curl --data-binary @file: curl could not load the file into memory)');
    }

    console.log(`upload of a ${(bytes / 2 ** 30).toFixed(2)} GiB ONNX over loopback (${os.cpus().length} CPUs, node ${process.version})`);
    for (const [name, s] of rows) console.log(`  ${name.padEnd(56)} ${s.toFixed(2)} s  ${rate(s)}`);
    builder.proc.kill('SIGTERM');
    sink.proc.kill('SIGTERM');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
