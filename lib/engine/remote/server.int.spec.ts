import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from '../../../test/dist';
import { A100, trtexecBuilds } from '../../../test/fixtures/stand-ins';
import { ONNX, runBuilderCli, spawnBuilder, TOKEN, type BuilderChild } from './__fixtures__/harness';
import { BOOT_ID, HOST_ID, PIDNS_ID } from '../../system/owner';
import { BUILD_HEADER, encodeBuildRequest, type BuildRequest } from './protocol';
import { reluWithExternalData } from '../../../test/onnx-bytes';

const base = mkdtempSync(join(tmpdir(), 'nx-triton-builder-'));
beforeAll(() => ensureDist());
let n = 0;
const running: BuilderChild[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.stop()));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const onnx = readFileSync(ONNX);
const sha = createHash('sha256').update(onnx).digest('hex');
const buildRequest = (extra: Partial<BuildRequest> = {}): BuildRequest => ({
  onnx_sha256: sha,
  model: 'my_trt',
  max_batch_size: 8,
  inputs: [{ name: 'x', dims: [4] }],
  tensorrt: {},
  ...extra,
});

async function start(args: string[] = [], env: Record<string, string> = {}): Promise<{ b: BuilderChild; dir: string }> {
  const dir = join(base, `b${n++}`);
  const b = await spawnBuilder(['--engine-cache', join(dir, 'store'), ...args], {
    NX_TRITON_BUILDER_TOKEN: TOKEN,
    FAKE_GPU: A100,
    FAKE_TRT_LOG: join(dir, 'trtexec.log'),
    ...env,
  });
  running.push(b);
  return { b, dir };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One request; a body given as chunks is sent chunked (no Content-Length). Once the answer has come
 * (a refusal while the body is still being sent), no more is sent and a write error after it is the
 * builder closing the connection it refused, not a failure: CI saw `write EPIPE` fail the 413 test so.
 */
function call(url: string, o: { method?: string; token?: string | null; headers?: Record<string, string>; body?: Buffer | Buffer[] }): Promise<Reply> {
  return new Promise((ok, ko) => {
    const headers: Record<string, string> = { ...(o.token !== null ? { authorization: `Bearer ${o.token ?? TOKEN}` } : {}), ...o.headers };
    if (Buffer.isBuffer(o.body)) headers['content-length'] = String(o.body.length);
    let answered = false;
    const req = request(url, { method: o.method ?? 'GET', headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', (err) => {
      if (!answered) ko(err);
    });
    if (Array.isArray(o.body)) {
      const chunks = [...o.body];
      const next = (): void => {
        const c = chunks.shift();
        if (!c) return void req.end();
        if (req.destroyed || answered) return;
        req.write(c, next);
      };
      next();
    } else req.end(o.body);
  });
}

const post = (url: string, body: Buffer | Buffer[], r: BuildRequest = buildRequest(), headers: Record<string, string> = {}): Promise<Reply> =>
  call(`${url}/v1/engines`, { method: 'POST', body, headers: { [BUILD_HEADER]: encodeBuildRequest(r), ...headers } });

function events(body: Buffer): { events: Array<Record<string, unknown>>; plan: Buffer } {
  const out: Array<Record<string, unknown>> = [];
  let rest = body;
  for (;;) {
    const nl = rest.indexOf(10);
    const e = JSON.parse(rest.subarray(0, nl).toString());
    out.push(e);
    rest = rest.subarray(nl + 1);
    if (e.event === 'done') return { events: out, plan: rest };
    if (e.event === 'error' || rest.length === 0) return { events: out, plan: Buffer.alloc(0) };
  }
}

/** Pids of the processes whose command line names `path`. */
function processesNaming(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Whether `pid` runs: exists and is no zombie (PID 1 of this container never reaps orphans). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Files left in the builder's upload dir once it finished answering (it cleans up just after). */
async function uploadsLeft(dir: string): Promise<string[]> {
  const up = join(dir, 'store', 'builder-uploads');
  const ls = (d: string): string[] => {
    try {
      return readdirSync(d).map((f) => join(d, f));
    } catch {
      return []; // removed while listing
    }
  };
  // Every file below the jobs' dirs (<upload dir>/<job>/model/model.onnx, .../parts/<n>, ...).
  const below = (d: string): string[] => ls(d).flatMap((p) => (statSync(p, { throwIfNoEntry: false })?.isDirectory() ? below(p) : [p]));
  const list = (): string[] => ls(up).flatMap((p) => ls(p).flatMap((j) => (statSync(j, { throwIfNoEntry: false })?.isDirectory() ? below(j) : [j])));
  for (let i = 0; i < 50 && list().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return list();
}

describe('nx-triton builder', () => {
  it('answers its fingerprint only with the token, and /healthz without', async () => {
    const { b } = await start();
    const ok = await call(`${b.url}/v1/fingerprint`, {});
    expect(ok.status).toBe(200);
    const reply = JSON.parse(ok.body.toString());
    expect(reply).toMatchObject({ protocol: 1, fingerprint: { gpu: { name: 'NVIDIA A100-SXM4-80GB', computeCapability: '8.0' }, tensorrt: { version: '10.3.0' } } });
    const none = await call(`${b.url}/v1/fingerprint`, { token: null });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await call(`${b.url}/v1/fingerprint`, { token: `${TOKEN}x` })).status).toBe(401);
    expect((await post(b.url, onnx, buildRequest()).then(() => call(`${b.url}/v1/engines`, { method: 'POST', token: 'wrong-token-0123456789', body: onnx }))).status).toBe(401);
    expect((await call(`${b.url}/healthz`, { token: null })).status).toBe(200);
  });

  // Issue 13.2: upload dirs were named by pid only; a second builder on a shared store (another container, also
  // PID 1) deleted the first one's uploads, and a leftover of PID 1 was never cleaned. Issue 22, N5: a builder in
  // another PID namespace of this host (same host name and boot) judged a live builder's pid dead. A pid is judged
  // only in its own namespace; every other owner by the heartbeat of its dir (mtime, refreshed while it runs).
  it('judges upload dirs by pid in its own PID namespace only, every other by its heartbeat', async () => {
    const dir = join(base, 'shared-uploads');
    const up = join(dir, 'store', 'builder-uploads');
    const other = (id: string) => (id === '00000000' ? '11111111' : '00000000');
    const names = {
      otherHostPid1: `${other(HOST_ID)}.${BOOT_ID}.${PIDNS_ID}.1.0123abcd`,
      otherHostSilent: `${other(HOST_ID)}.${BOOT_ID}.${PIDNS_ID}.1.4567abcd`,
      beforeReboot: `${HOST_ID}.${other(BOOT_ID)}.${PIDNS_ID}.1.0123abcd`,
      otherNamespaceLive: `${HOST_ID}.${BOOT_ID}.${other(PIDNS_ID)}.4194305.0123abcd`,
      otherNamespaceSilent: `${HOST_ID}.${BOOT_ID}.${other(PIDNS_ID)}.4194305.4567abcd`,
      deadHere: `${HOST_ID}.${BOOT_ID}.${PIDNS_ID}.4194305.0123abcd`,
      aliveHere: `${HOST_ID}.${BOOT_ID}.${PIDNS_ID}.${process.pid}.0123abcd`,
    };
    for (const name of Object.values(names)) {
      mkdirSync(join(up, name), { recursive: true });
      writeFileSync(join(up, name, 'model.onnx'), 'partial');
    }
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const name of [names.otherHostSilent, names.beforeReboot, names.otherNamespaceSilent]) utimesSync(join(up, name), hourAgo, hourAgo);
    const b = await spawnBuilder(['--engine-cache', join(dir, 'store')], { NX_TRITON_BUILDER_TOKEN: TOKEN, FAKE_GPU: A100 });
    running.push(b);
    const left = readdirSync(up);
    expect(left).toEqual(expect.arrayContaining([names.otherHostPid1, names.otherNamespaceLive, names.aliveHere]));
    for (const gone of [names.otherHostSilent, names.beforeReboot, names.otherNamespaceSilent, names.deadHere]) expect(left).not.toContain(gone);
    expect(left).toHaveLength(4); // and its own
  });

  // Issue 13.7: a SIGKILLed builder left trtexec running. trtexec runs in its own process group,
  // recorded in the job's dir; the next builder on the store ends the group of a dead builder.
  it('ends the trtexec a SIGKILLed builder left running when the next builder starts on the store', async () => {
    const { b, dir } = await start([], { FAKE_TRT_SLEEP_MS: '60000' });
    const store = join(dir, 'store');
    // Once the stand-in has written its last line before it sleeps (a write to the dead builder's pipe would end it).
    const sleeping = new Promise<void>((ok, ko) => {
      const req = request(`${b.url}/v1/engines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(onnx.length), [BUILD_HEADER]: encodeBuildRequest(buildRequest()) },
      }, (res) => {
        res.on('data', (d: Buffer) => d.toString().includes('Precision: FP32') && ok());
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
      req.end(onnx);
      setTimeout(() => ko(new Error('trtexec never started')), 10_000);
    });
    await sleeping;
    const pids = processesNaming(store).filter((pid) => pid !== b.proc.pid);
    expect(pids).toHaveLength(1); // the stand-in trtexec, building
    try {
      b.proc.kill('SIGKILL'); // the builder alone, as the OOM killer would
      await b.stop();
      await new Promise((r) => setTimeout(r, 300));
      expect(isRunning(pids[0])).toBe(true); // orphaned, still building
      const next = await spawnBuilder(['--engine-cache', store], { NX_TRITON_BUILDER_TOKEN: TOKEN, FAKE_GPU: A100 });
      running.push(next);
      expect(isRunning(pids[0])).toBe(false);
      expect(next.output()).toMatch(new RegExp(`ended the trtexec left running by builder pid ${b.proc.pid} \\(job [0-9a-f]{16}\\)`));
      expect(readdirSync(join(store, 'builder-uploads'))).toHaveLength(1); // the new builder's own
    } finally {
      try {
        process.kill(pids[0], 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });

  // Issue 13.7: a full disk during an upload answered a bare 500. A real full disk: a 1 MiB tmpfs as
  // the engine store (this test runs as root in the container), and a 2 MiB upload.
  it('answers 507 with the reason when the disk fills during an upload, and removes the partial upload', async () => {
    const dir = join(base, `b${n++}`);
    const store = join(dir, 'store');
    mkdirSync(store, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', store]);
    try {
      const b = await spawnBuilder(['--engine-cache', store], { NX_TRITON_BUILDER_TOKEN: TOKEN, FAKE_GPU: A100, FAKE_TRT_LOG: join(dir, 'trtexec.log') });
      running.push(b);
      const full = await post(b.url, Buffer.alloc(2 << 20, 1));
      expect(full.status).toBe(507);
      expect(full.headers.connection).toBe('close');
      expect(JSON.parse(full.body.toString())).toEqual({
        error: "the builder's disk is full (no space left for the upload in its engine store); try again later or another builder",
      });
      expect(await uploadsLeft(dir)).toEqual([]);
      expect(statfsSync(store).bfree).toBeGreaterThan((statfsSync(store).blocks * 9) / 10); // the space is back
      // The builder goes on: the next upload fits and builds.
      const ok = await post(b.url, onnx);
      expect(ok.status).toBe(200);
      expect(events(ok.body).events.at(-1)).toMatchObject({ event: 'done', hit: false });
      await running.splice(running.indexOf(b), 1)[0].stop();
    } finally {
      execFileSync('umount', [store]);
    }
  });

  it('refuses to start without a token unless --insecure-no-auth is given', async () => {
    const env = { NX_TRITON_BUILDER_TOKEN: '', FAKE_GPU: A100 };
    const r = await runBuilderCli(['--port', '0', '--engine-cache', join(base, 'noauth')], env);
    expect(r.code).toBe(1);
    expect(r.output).toContain('no token: set NX_TRITON_BUILDER_TOKEN or pass --token-file');
    const tokenFile = join(base, 'short-token');
    writeFileSync(tokenFile, 'short\n');
    expect((await runBuilderCli(['--token-file', tokenFile], env)).output).toContain('too short');
    // Issue 13.7: a token with a space inside started the builder, which then answered 401 to every request.
    writeFileSync(tokenFile, 'correct horse battery staple 0123456789\n');
    const spaced = await runBuilderCli(['--token-file', tokenFile], env);
    expect([spaced.code, spaced.output.trim()]).toEqual([1, 'nx-triton builder: the builder token contains spaces or control characters; a bearer token is one word (e.g. openssl rand -hex 32)']);
    const open = await start(['--insecure-no-auth'], { NX_TRITON_BUILDER_TOKEN: '' });
    expect((await call(`${open.b.url}/v1/fingerprint`, { token: null })).status).toBe(200);
  });

  it('builds the plan, streams progress, and serves a second request from its store', async () => {
    const { b, dir } = await start();
    const first = events((await post(b.url, onnx)).body);
    expect(first.events.map((e) => e.event)).toContain('log');
    // Issue 13.7: log events never show the builder's absolute paths (its store, the job's upload dir).
    expect(JSON.stringify(first.events)).not.toContain(dir);
    expect(first.events.some((e) => e.event === 'log' && (e as { line: string }).line.includes('--saveEngine=<store>/'))).toBe(true);
    const done = first.events.at(-1) as { event: string; hit: boolean; plan_bytes: number; manifest: { key: string; plan: { sha256: string } } };
    expect(done).toMatchObject({ event: 'done', hit: false });
    expect(first.plan.length).toBe(done.plan_bytes);
    expect(first.plan.toString('latin1', 0, 4)).toBe('ftrt');
    expect(createHash('sha256').update(first.plan).digest('hex')).toBe(done.manifest.plan.sha256);

    const second = events((await post(b.url, onnx)).body);
    expect(second.events.at(-1)).toMatchObject({ event: 'done', hit: true, manifest: { key: done.manifest.key } });
    expect(second.plan).toEqual(first.plan);
    expect(trtexecBuilds(join(dir, 'trtexec.log'))).toBe(1);
    expect(await uploadsLeft(dir)).toEqual([]);
  });

  it('refuses bad requests before building: options off the allow-list, a wrong sha256, not an ONNX', async () => {
    const { b, dir } = await start();
    const unsafe = { ...buildRequest(), tensorrt: { trtexec: '/bin/sh' } } as unknown as BuildRequest;
    const r1 = await post(b.url, onnx, unsafe);
    expect(r1.status).toBe(400);
    expect(r1.body.toString()).toContain('tensorrt.trtexec: not accepted by a builder');
    const r2 = await post(b.url, onnx, buildRequest({ tensorrt: { precision: 'fp99' } }));
    expect(r2.status).toBe(400);
    // The builder checks the options with triton.yaml's checker (lib/model-spec/tensorrt.ts): the same message.
    expect(JSON.parse(r2.body.toString()).error).toContain('tensorrt.precision: unknown precision "fp99"');
    // Issue 13.6: a value named like an Object.prototype member was looked up on a plain object (500 TypeError).
    const r2b = await post(b.url, onnx, buildRequest({ tensorrt: { hardware_compatibility: 'constructor' } }));
    expect(r2b.status).toBe(400);
    expect(JSON.parse(r2b.body.toString()).error).toContain('tensorrt.hardware_compatibility: unknown value "constructor" (expected one of none, ampere+, same_compute_capability)');
    const r3 = await post(b.url, Buffer.concat([onnx, Buffer.from('x')]));
    expect(r3.status).toBe(400);
    expect(r3.body.toString()).toContain(`the request says ${sha}`);
    const junk = Buffer.from('not an onnx model at all');
    const r4 = await post(b.url, junk, buildRequest({ onnx_sha256: createHash('sha256').update(junk).digest('hex') }));
    expect(r4.status).toBe(400);
    expect(r4.body.toString()).toContain('not a readable ONNX model');
    expect(trtexecBuilds(join(dir, 'trtexec.log'))).toBe(0);
  });

  // Issue 13.5: the documented header limit was unreachable: base64 passed Node's 16 KiB first (431),
  // so a model with ~120+ inputs could not be built remotely.
  it('takes the build request of a model with 300 inputs', async () => {
    const { b } = await start();
    const inputs = Array.from({ length: 300 }, (_, i) => ({ name: `input_with_a_long_name_${String(i).padStart(3, '0')}`, dims: [4] }));
    const reply = await post(b.url, onnx, buildRequest({ inputs }));
    expect(reply.status).toBe(200);
    expect(events(reply.body).events[0]).toMatchObject({ event: 'accepted' });
  });

  // Issue 13.1: a client queued and gone left its upload on disk until a slot freed, and its place went
  // to the next client: 8 such clients with --jobs 1 --queue 1 all got 200 and left 27 MB.
  it('removes the upload of a client that leaves while queued at once, and counts it until then', async () => {
    const { b, dir } = await start(['--jobs', '1', '--queue', '1'], { FAKE_TRT_SLEEP_MS: '4000' });
    const running = post(b.url, onnx); // holds the one job for 4 s
    await new Promise((r) => setTimeout(r, 500));
    // The second client uploads, is queued, and leaves.
    await new Promise<void>((ok, ko) => {
      const req = request(`${b.url}/v1/engines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(onnx.length), [BUILD_HEADER]: encodeBuildRequest(buildRequest({ model: 'leaves' })) },
      }, (res) => {
        res.on('data', (d: Buffer) => {
          if (d.toString().includes('"queued"')) {
            req.destroy();
            ok();
          }
        });
      });
      req.on('error', () => undefined);
      req.end(onnx);
      setTimeout(() => ko(new Error('never queued')), 3000);
    });
    await new Promise((r) => setTimeout(r, 500));
    const left = (await uploadsLeft(dir)).filter((f) => f.endsWith('model.onnx'));
    expect(left).toHaveLength(1); // the running build's only; the build still runs
    expect((await running).status).toBe(200);
  });

  // Issue 13.3: GET /healthz and 404s with a large Content-Length, fed one byte at a time, stayed open for an hour.
  it('closes a connection it will not read a body from once it has answered, token or not', async () => {
    const { b } = await start();
    const u = new URL(b.url);
    const openFor = (head: string): Promise<{ reply: string; ms: number }> =>
      new Promise((ok) => {
        const started = Date.now();
        let reply = '';
        const s = connect(Number(u.port), u.hostname, () => {
          s.write(head);
          s.write('x');
        });
        const drip = setInterval(() => s.writable && s.write('x'), 200);
        s.on('data', (d) => (reply += d.toString('latin1')));
        s.on('error', () => undefined);
        s.on('close', () => {
          clearInterval(drip);
          ok({ reply, ms: Date.now() - started });
        });
        setTimeout(() => s.destroy(), 10_000);
      });
    for (const head of [
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n',
      'POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n',
      'GET /v1/fingerprint HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n',
    ]) {
      const { reply, ms } = await openFor(head);
      expect(reply).toMatch(/^HTTP\/1\.1 (200|404|401) /);
      expect(reply).toMatch(/connection: close/i);
      expect(ms).toBeLessThan(5000);
    }
  });

  // Issue 13.3: an upload fed a few bytes at a time evaded the idle timeout and held its slot for the whole request timeout.
  it('ends an upload slower than --min-upload-rate once --upload-grace has passed, with 408', async () => {
    const { b, dir } = await start(['--min-upload-rate', '100K', '--upload-grace', '1']);
    const u = new URL(b.url);
    const started = Date.now();
    const reply = await new Promise<string>((ok) => {
      let text = '';
      const s = connect(Number(u.port), u.hostname, () => {
        s.write(
          `POST /v1/engines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${BUILD_HEADER}: ${encodeBuildRequest(buildRequest())}\r\nContent-Length: 100000\r\n\r\n`,
        );
      });
      const drip = setInterval(() => s.writable && s.write('xxxxxxxxxx'), 200);
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(drip);
        ok(text);
      });
      setTimeout(() => s.destroy(), 15_000);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('the upload was slower than 102400 bytes/s over the last 1 s (--min-upload-rate, --upload-grace)');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await uploadsLeft(dir)).toEqual([]);
  });

  it('answers 413 above --max-upload-bytes: declared, counted while streaming, and never stores more', async () => {
    const { b, dir } = await start(['--max-upload-bytes', '64K']);
    const big = Buffer.alloc(200 * 1024, 7);
    const declared = await post(b.url, big, buildRequest({ onnx_sha256: 'a'.repeat(64) }));
    expect(declared.status).toBe(413);
    expect(declared.body.toString()).toContain('upload limit is 65536 bytes');
    const chunks = Array.from({ length: 50 }, () => Buffer.alloc(8192, 1)); // chunked: no Content-Length
    const streamed = await post(b.url, chunks, buildRequest({ onnx_sha256: 'a'.repeat(64) }));
    expect(streamed.status).toBe(413);

    // A Content-Length under the limit followed by far more bytes: only the declared bytes are the body.
    const u = new URL(b.url);
    const raw = await new Promise<string>((ok) => {
      const s = connect(Number(u.port), u.hostname, () => {
        s.write(
          `POST /v1/engines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${BUILD_HEADER}: ${encodeBuildRequest(buildRequest({ onnx_sha256: 'a'.repeat(64) }))}\r\nContent-Length: 1000\r\n\r\n`,
        );
        s.write(Buffer.alloc(300 * 1024, 2));
      });
      let text = '';
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('close', () => ok(text));
      s.on('error', () => undefined);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).not.toMatch(/HTTP\/1\.1 200/);
    expect(await uploadsLeft(dir)).toEqual([]);
    expect((await call(`${b.url}/v1/fingerprint`, {})).status).toBe(200);
    expect(statSync(join(dir, 'store')).isDirectory()).toBe(true);
  });

  it('answers 503 with Retry-After when the running and queued builds fill --jobs + --queue', async () => {
    const { b, dir } = await start(['--jobs', '1', '--queue', '1'], { FAKE_TRT_SLEEP_MS: '800' });
    const replies = await Promise.all([0, 1, 2].map((i) => post(b.url, onnx, buildRequest({ max_batch_size: 8 - i }))));
    const busy = replies.filter((r) => r.status === 503);
    expect(busy).toHaveLength(1);
    expect(busy[0].headers['retry-after']).toMatch(/^\d+$/);
    expect(busy[0].body.toString()).toContain('busy');
    const served = replies.filter((r) => r.status === 200).map((r) => events(r.body).events);
    expect(served).toHaveLength(2);
    expect(served.every((ev) => ev.at(-1)?.event === 'done')).toBe(true);
    expect(served.some((ev) => ev.some((e) => e.event === 'queued'))).toBe(true);
    expect(trtexecBuilds(join(dir, 'trtexec.log'))).toBe(2);
  });

  // Issue 22, N6: a client that stopped reading its answer held the only job slot for good (the plan could not
  // be sent, and the slot was released only after it was). The slot now goes once the plan is in the store, and
  // an answer that makes no progress for --idle-timeout is ended.
  it('releases the job slot once the plan is in its store, and drops a client that stops reading', async () => {
    const { b, dir } = await start(['--jobs', '1', '--queue', '1', '--idle-timeout', '2'], { FAKE_TRT_PLAN_BYTES: String(160 << 20) });
    const u = new URL(b.url);
    let received = 0;
    let closed = false;
    const stalled = connect(Number(u.port), u.hostname, () => {
      stalled.write(`POST /v1/engines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${BUILD_HEADER}: ${encodeBuildRequest(buildRequest())}\r\nContent-Length: ${onnx.length}\r\n\r\n`);
      stalled.write(onnx);
      stalled.pause(); // reads nothing of the answer: 160 MiB of plan cannot leave the builder
    });
    stalled.on('close', () => (closed = true));
    stalled.on('error', () => undefined);
    try {
      const log = join(dir, 'trtexec.log');
      for (let i = 0; i < 200 && trtexecBuilds(log) < 1; i++) await new Promise((r) => setTimeout(r, 50));
      expect(trtexecBuilds(log)).toBe(1);
      const next = await post(b.url, onnx, buildRequest({ max_batch_size: 4 }));
      expect(next.status).toBe(200);
      expect(events(next.body).events.at(-1)).toMatchObject({ event: 'done', hit: false });
      // Past --idle-timeout the builder has ended the stalled answer: reading now gets what was in flight, then the end.
      await new Promise((r) => setTimeout(r, 3000));
      stalled.on('data', (d: Buffer) => (received += d.length));
      stalled.resume();
      for (let i = 0; i < 200 && !closed; i++) await new Promise((r) => setTimeout(r, 50));
      expect(closed).toBe(true);
      expect(received, b.output()).toBeLessThan(160 << 20);
      expect(b.output()).toContain('my_trt: the client read nothing of the plan for 2 s (--idle-timeout); answer ended');
    } finally {
      stalled.destroy();
    }
  });

  // Issue 22, N14: the minimum upload rate was an average from the start, so a fast first megabytes bought a
  // trickle that held the slot for minutes. The rate is now measured over the last --upload-grace seconds.
  it('measures --min-upload-rate over a sliding window: a fast start buys no slow rest', async () => {
    const { b, dir } = await start(['--min-upload-rate', '100K', '--upload-grace', '1']);
    const u = new URL(b.url);
    const started = Date.now();
    const reply = await new Promise<string>((ok) => {
      let text = '';
      const s = connect(Number(u.port), u.hostname, () => {
        s.write(`POST /v1/engines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${BUILD_HEADER}: ${encodeBuildRequest(buildRequest())}\r\nContent-Length: ${20 << 20}\r\n\r\n`);
        s.write(Buffer.alloc(2 << 20, 1)); // 2 MiB at once: an average above 100K/s for 20 s
      });
      const drip = setInterval(() => s.writable && s.write('xxxxxxxxxx'), 200);
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(drip);
        ok(text);
      });
      setTimeout(() => s.destroy(), 30_000);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await uploadsLeft(dir)).toEqual([]);
  });

  // Issue 22, N9: sockets that never send a header filled the connection cap (4 x (jobs + queue) + 32), so a
  // client with the token was refused until Node's header timeout (30 s, checked every 30 s) freed them.
  it('keeps room for requests while silent sockets fill the connection cap, and drops those sockets sooner', async () => {
    const { b } = await start(['--jobs', '1', '--queue', '1']);
    const u = new URL(b.url);
    const started = Date.now();
    const closed: number[] = [];
    const replies = new Set<string>();
    const silent = Array.from({ length: 80 }, () => {
      const s = connect(Number(u.port), u.hostname);
      // Read what comes: a socket whose headers time out in Node's own check (every second, see
      // connectionsCheckingInterval) gets a 408 before the FIN, and a client that never reads it never
      // sees the end (CI saw 16 sockets stay in CLOSE-WAIT so).
      let reply = '';
      s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
      s.on('close', () => {
        closed.push(Date.now() - started);
        replies.add(reply.split('\r\n')[0]);
      });
      s.on('error', () => undefined);
      return s;
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const fp = await call(`${b.url}/v1/fingerprint`, {});
      expect(fp.status).toBe(200);
      const built = await post(b.url, onnx);
      expect(built.status).toBe(200);
      for (let i = 0; i < 400 && closed.length < silent.length; i++) await new Promise((r) => setTimeout(r, 50));
      expect(closed).toHaveLength(silent.length);
      expect(Math.max(...closed)).toBeLessThan(15_000);
      // Dropped with no answer (the oldest of too many, or our 10-s timer), or Node's 408 for headers too slow.
      expect([...replies].filter((r) => r !== '' && r !== 'HTTP/1.1 408 Request Timeout')).toEqual([]);
    } finally {
      for (const s of silent) s.destroy();
    }
  });

  // Issue 19, item 14: the dynamo exporter (torch 2.x's default) writes external data, and builders refused every
  // such model. The body now carries the data files after the ONNX; their names come from the ONNX alone.
  describe('ONNX models with external data', () => {
    const model = reluWithExternalData(['model.onnx.data', 'weights/b.bin']);
    const data = { 'model.onnx.data': Buffer.alloc(4096, 3), 'weights/b.bin': Buffer.from('bias') };
    const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    const files = Object.entries(data).map(([location, bytes]) => ({ location, bytes: bytes.length, sha256: digest(bytes) }));
    const request = (extra: Partial<BuildRequest> = {}): BuildRequest => buildRequest({ onnx_sha256: digest(model), onnx_bytes: model.length, external_data: files, ...extra });
    const body = Buffer.concat([model, ...Object.values(data)]);

    it('says so in its fingerprint, with its nx-triton version', async () => {
      const { b } = await start();
      const reply = JSON.parse((await call(`${b.url}/v1/fingerprint`, {})).body.toString());
      expect(reply).toMatchObject({ protocol: 1, external_data: true, nx_triton: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    });

    it('builds the model with its data files beside it, at the locations the ONNX names', async () => {
      const { b, dir } = await start();
      const reply = await post(b.url, body, request());
      expect(reply.status, b.output()).toBe(200);
      const { events: ev } = events(reply.body);
      expect(ev.at(-1)).toMatchObject({
        event: 'done',
        hit: false,
        manifest: { parts: { onnx: { sha256: digest(model), external_data: { 'model.onnx.data': digest(data['model.onnx.data']), 'weights/b.bin': digest(data['weights/b.bin']) } } } },
      });
      const runs = readFileSync(join(dir, 'trtexec.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(runs.find((r) => r.kind === 'build')?.beside).toEqual(['model.onnx', 'model.onnx.data', 'weights']);
      expect(await uploadsLeft(dir)).toEqual([]);
      // The same model again: from the builder's store.
      expect(events((await post(b.url, body, request())).body).events.at(-1)).toMatchObject({ event: 'done', hit: true });
    });

    it('refuses what the ONNX does not name, paths that lead out, bad hashes and a model sent without its data', async () => {
      const { b, dir } = await start();
      const refused = async (r: BuildRequest, sent: Buffer = body): Promise<string> => {
        const reply = await post(b.url, sent, r);
        expect(reply.status).toBe(400);
        return JSON.parse(reply.body.toString()).error;
      };
      expect(await refused(request({ external_data: [{ ...files[0], location: '../../evil' }, files[1]] }))).toBe(
        'bad build request: external_data[0].location: "../../evil" cannot be used: it leads outside the directory of the ONNX file',
      );
      expect(await refused(request({ external_data: [{ ...files[0], location: '/etc/cron.d/x' }, files[1]] }))).toContain('it is an absolute path');
      expect(await refused(request({ external_data: [{ ...files[0], location: 'renamed.bin' }, files[1]] }))).toBe(
        'the request sends external data [renamed.bin, weights/b.bin], but the model names [model.onnx.data, weights/b.bin]',
      );
      expect(await refused(request({ external_data: [{ ...files[0], sha256: 'f'.repeat(64) }, files[1]] }))).toBe(
        `external data "model.onnx.data": its sha256 is ${files[0].sha256}, the request says ${'f'.repeat(64)}`,
      );
      // An older client sends the ONNX alone.
      expect(await refused(buildRequest({ onnx_sha256: digest(model) }), model)).toBe(
        "the model has external data (model.onnx.data, weights/b.bin) but the request sends none: this client's nx-triton sends single-file ONNX models only; update nx-triton where the engine target runs",
      );
      expect(await refused(request({ onnx_bytes: model.length + 1 }))).toContain('the body must be sent with Content-Length');
      expect(trtexecBuilds(join(dir, 'trtexec.log'))).toBe(0);
      expect(await uploadsLeft(dir)).toEqual([]);
    });

    it('holds the ONNX and its data together to --max-upload-bytes', async () => {
      const { b } = await start(['--max-upload-bytes', '4K']);
      const reply = await post(b.url, body, request());
      expect(reply.status).toBe(413);
    });
  });
});
