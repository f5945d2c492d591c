import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { canonicalJson, engineKey, onnxDigest, sha256File, type EngineKeyParts } from './key';
import { ownerTag, PIDNS_ID } from '../system/owner';
import { DEFAULT_MAX_BYTES, EngineStore, readPlanHeader, resolveMaxBytes, resolveStoreDir, storeTmpName } from './store';

const base = mkdtempSync(join(tmpdir(), 'nx-triton-store-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dir: string;
let n = 0;
beforeEach(() => {
  dir = join(base, `t${n++}`);
  mkdirSync(dir, { recursive: true });
});

const parts = (extra: Partial<EngineKeyParts> = {}): EngineKeyParts => ({
  onnx: { sha256: 'a'.repeat(64), external_data: {} },
  tensorrt: '10.3.0.26',
  gpu: { name: 'NVIDIA A100-SXM4-80GB', compute_capability: '8.0' },
  os: 'linux',
  arch: 'x64',
  options: ['--skipInference'],
  ...extra,
});

function plan(version: number[], payload = 'payload'): Buffer {
  const head = Buffer.alloc(32);
  head.write('ftrt', 0, 'latin1');
  head.set(version, 24);
  return Buffer.concat([head, Buffer.from(payload)]);
}

describe('engine key', () => {
  it('is the same for the same parts in any key order, and differs when a part differs', () => {
    const p = parts();
    const reordered = JSON.parse(JSON.stringify({ options: p.options, arch: p.arch, os: p.os, gpu: p.gpu, tensorrt: p.tensorrt, onnx: p.onnx }));
    expect(canonicalJson(reordered)).toBe(canonicalJson(p));
    expect(engineKey(reordered)).toBe(engineKey(p));
    expect(engineKey(parts({ tensorrt: '10.3.0.27' }))).not.toBe(engineKey(p));
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
  });

  it('hashes files as a stream and does not read an unchanged file again', async () => {
    const file = join(dir, 'model.onnx');
    const mtime = new Date('2025-01-01T00:00:00Z');
    writeFileSync(file, 'first content');
    utimesSync(file, mtime, mtime);
    const cache = join(dir, 'hash-cache');
    const digest = await sha256File(file, cache);
    expect(digest).toBe(createHash('sha256').update('first content').digest('hex'));
    // Same size, same mtime, same inode: the remembered digest is used without reading.
    writeFileSync(file, 'other content');
    utimesSync(file, mtime, mtime);
    expect(await sha256File(file, cache)).toBe(digest);
    utimesSync(file, mtime, new Date(mtime.getTime() + 5000));
    expect(await sha256File(file, cache)).toBe(createHash('sha256').update('other content').digest('hex'));
  });

  it('covers external data files, which must stay beside the model', async () => {
    writeFileSync(join(dir, 'model.onnx'), 'graph');
    writeFileSync(join(dir, 'weights.bin'), 'w1');
    const one = await onnxDigest(join(dir, 'model.onnx'), ['weights.bin']);
    expect(one.external_data).toEqual({ 'weights.bin': createHash('sha256').update('w1').digest('hex') });
    writeFileSync(join(dir, 'weights.bin'), 'w2');
    expect((await onnxDigest(join(dir, 'model.onnx'), ['weights.bin'])).external_data['weights.bin']).not.toBe(one.external_data['weights.bin']);
    await expect(onnxDigest(join(dir, 'model.onnx'), ['../secret'])).rejects.toThrow(/leads outside the directory of the ONNX file/);
    await expect(onnxDigest(join(dir, 'model.onnx'), ['missing.bin'])).rejects.toThrow(UserError);
  });
});

describe('store settings', () => {
  it('takes the env over the option over ~/.cache/nx-triton/engines', () => {
    expect(resolveStoreDir({ env: {} })).toBe(join(homedir(), '.cache/nx-triton/engines'));
    expect(resolveStoreDir({ engineCache: '.engines', workspaceRoot: '/ws', env: {} })).toBe('/ws/.engines');
    expect(resolveStoreDir({ engineCache: '.engines', workspaceRoot: '/ws', env: { NX_TRITON_ENGINE_CACHE: '/shared/engines' } })).toBe('/shared/engines');
    expect(resolveMaxBytes({ env: {} })).toBe(DEFAULT_MAX_BYTES);
    expect(resolveMaxBytes({ env: { NX_TRITON_ENGINE_CACHE_MAX_BYTES: '1000' } })).toBe(1000);
    expect(() => resolveMaxBytes({ env: { NX_TRITON_ENGINE_CACHE_MAX_BYTES: 'lots' } })).toThrow(UserError);
  });

  it('reads the TensorRT version from a plan header', () => {
    expect(readPlanHeader(plan([8, 6, 1, 6]))).toEqual({ major: 8, minor: 6, patch: 1, build: 6 });
    expect(readPlanHeader(Buffer.from('PK\u0003\u0004 not a plan, but long enough to have 28 bytes'))).toBeUndefined();
  });
});

/** The owner tag of `pid` in another PID namespace of this host and boot. */
function foreignTag(pid: number): string {
  const [host, boot] = ownerTag(pid).split('.');
  return `${host}.${boot}.${PIDNS_ID === '00000000' ? '11111111' : '00000000'}.${pid}`;
}

describe('EngineStore', () => {
  it('puts a verified entry atomically and serves it', async () => {
    const store = new EngineStore(join(dir, 'store'));
    const p = parts();
    const key = engineKey(p);
    let runs = 0;
    const build = async (tmp: string) => {
      runs++;
      writeFileSync(tmp, plan([10, 3, 0, 26]));
      return { command: ['trtexec', '--skipInference'] };
    };
    const first = await store.getOrBuild(key, p, build);
    expect(first.hit).toBe(false);
    const second = await store.getOrBuild(key, p, build);
    expect(second.hit).toBe(true);
    expect(runs).toBe(1);
    const manifest = JSON.parse(readFileSync(join(store.entryDir(key), 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ key, parts: p, plan: { file: 'model.plan', size: 39 }, command: ['trtexec', '--skipInference'] });
    expect(manifest.plan.sha256).toBe(createHash('sha256').update(plan([10, 3, 0, 26])).digest('hex'));
  });

  it('refuses a plan from another TensorRT version and keeps nothing', async () => {
    const store = new EngineStore(join(dir, 'store'));
    const p = parts();
    const err = await store
      .getOrBuild(engineKey(p), p, async (tmp) => {
        writeFileSync(tmp, plan([8, 6, 1, 6]));
        return { command: [] };
      })
      .catch((e: Error) => e);
    expect((err as Error).message).toBe('trtexec finished but its plan is not usable: plan was built by TensorRT 8.6.1, expected 10.3.0');
    expect(await store.get(engineKey(p), p)).toBeUndefined();
  });

  it('takes over the lock of a build whose process died', async () => {
    const store = new EngineStore(join(dir, 'store'), { pollMs: 10 });
    const p = parts();
    const key = engineKey(p);
    mkdirSync(join(dir, 'store/locks'), { recursive: true });
    // pid 2^22 + 1 is above Linux's pid_max limit, so no process has it.
    writeFileSync(join(dir, 'store/locks', `${key}.lock`), JSON.stringify({ owner: ownerTag(4194305), pid: 4194305, host: hostname() }));
    const got = await store.getOrBuild(key, p, async (tmp) => {
      writeFileSync(tmp, plan([10, 3, 0, 26]));
      return { command: [] };
    });
    expect(got.hit).toBe(false);
  });

  // Issue 13.9: the size/mtime/inode hash cache served a plan corrupted in place as verified.
  it('hashes a plan in full once per store instance before serving it: a plan corrupted in place is not served', async () => {
    const p = parts();
    const key = engineKey(p);
    const first = new EngineStore(join(dir, 'store'));
    const built = await first.getOrBuild(key, p, async (tmpPlan) => {
      writeFileSync(tmpPlan, plan([10, 3, 0, 26], 'good weights'));
      return { command: [] };
    });
    const mtime = new Date('2025-01-01T00:00:00Z'); // a whole second: restored exactly below
    utimesSync(built.planPath, mtime, mtime);
    expect(await first.get(key, p)).toBeDefined();
    writeFileSync(built.planPath, plan([10, 3, 0, 26], 'evil weights')); // same size, same header, same inode
    utimesSync(built.planPath, mtime, mtime);
    expect(await new EngineStore(join(dir, 'store')).get(key, p)).toBeUndefined();
  });

  // Issue 13.10: a full disk while writing a lock left an empty lock file, and the next build of that key
  // waited for it to go stale (120 s). Locks are now written whole; an unreadable one is a crash's leftover.
  it('takes over an empty lock at once instead of waiting for it to go stale', async () => {
    const p = parts();
    const key = engineKey(p);
    mkdirSync(join(dir, 'store/locks'), { recursive: true });
    writeFileSync(join(dir, 'store/locks', `${key}.lock`), '');
    const started = Date.now();
    let builds = 0;
    await new EngineStore(join(dir, 'store')).getOrBuild(key, p, async (tmpPlan) => {
      builds++;
      writeFileSync(tmpPlan, plan([10, 3, 0, 26]));
      return { command: [] };
    });
    expect(builds).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readdirSync(join(dir, 'store/locks'))).toEqual([]);
  }, 60_000);

  it('two stores racing for one key over a dead owner\'s lock build it once', async () => {
    const p = parts({ options: ['--race'] });
    const key = engineKey(p);
    mkdirSync(join(dir, 'store/locks'), { recursive: true });
    writeFileSync(join(dir, 'store/locks', `${key}.lock`), JSON.stringify({ owner: ownerTag(4194305), pid: 4194305, host: hostname(), since: new Date().toISOString() }));
    let builds = 0;
    const build = async (tmpPlan: string): Promise<{ command: string[] }> => {
      builds++;
      await new Promise((r) => setTimeout(r, 300));
      writeFileSync(tmpPlan, plan([10, 3, 0, 26]));
      return { command: [] };
    };
    const stores = Array.from({ length: 4 }, () => new EngineStore(join(dir, 'store'), { staleMs: 2000 }));
    const got = await Promise.all(stores.map((st) => st.getOrBuild(key, p, build)));
    expect(builds).toBe(1);
    expect(got.filter((g) => !g.hit)).toHaveLength(1);
  }, 60_000);

  // Issue 22, N5/F2: a store user in another PID namespace with this host name took over a live lock in 0.1 s
  // (its pid looked dead from there). A lock is judged by its pid only where that pid is visible.
  it('never takes over the lock of an owner in another PID namespace while its heartbeat is fresh', async () => {
    const p = parts({ options: ['--foreign'] });
    const key = engineKey(p);
    mkdirSync(join(dir, 'store/locks'), { recursive: true });
    writeFileSync(join(dir, 'store/locks', `${key}.lock`), JSON.stringify({ owner: foreignTag(4194305), pid: 4194305, host: hostname() }));
    const started = Date.now();
    let builtAt = 0;
    await new EngineStore(join(dir, 'store'), { staleMs: 1500, pollMs: 20 }).getOrBuild(key, p, async (tmpPlan) => {
      builtAt = Date.now() - started;
      writeFileSync(tmpPlan, plan([10, 3, 0, 26]));
      return { command: [] };
    });
    expect(builtAt).toBeGreaterThanOrEqual(1400); // only once the heartbeat was older than staleMs
  });

  it('removes the temp dirs of dead processes of this host when a build starts, and no others', async () => {
    const store = new EngineStore(join(dir, 'store'));
    const tmp = join(dir, 'store/tmp');
    const dead = storeTmpName('a'.repeat(64), 4194305);
    const deadTrash = storeTmpName('trash', 4194305);
    const live = [storeTmpName('b'.repeat(64), process.ppid), storeTmpName('trash', process.pid)];
    // A dead-looking pid in another PID namespace of this host: judged by its heartbeat, fresh here.
    const [flabel, , , , , frandom] = storeTmpName('d'.repeat(64), 4194305).split('.');
    const foreignLive = [flabel, foreignTag(4194305), frandom].join('.');
    const foreignStale = [flabel.replace(/d/g, 'e'), foreignTag(4194305), frandom].join('.');
    // The same dead pid on another machine sharing the store: not ours to judge.
    const [label, host, ...rest] = storeTmpName('c'.repeat(64), 4194305).split('.');
    const otherHost = [label, host === '00000000' ? '11111111' : '00000000', ...rest].join('.');
    for (const name of [dead, deadTrash, ...live, otherHost, foreignLive, foreignStale]) {
      mkdirSync(join(tmp, name), { recursive: true });
      writeFileSync(join(tmp, name, 'model.plan'), 'partial');
    }
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(tmp, foreignStale), hourAgo, hourAgo);
    const p = parts();
    await store.getOrBuild(engineKey(p), p, async (tmpPlan) => {
      writeFileSync(tmpPlan, plan([10, 3, 0, 26]));
      return { command: [] };
    });
    expect(readdirSync(tmp).sort()).toEqual([...live, otherHost, foreignLive].sort());
  });
});
