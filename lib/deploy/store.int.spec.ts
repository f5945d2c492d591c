import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSeaweedFs, type SeaweedFs } from '../../test/seaweedfs.cjs';
import { freePort } from '../triton/server';
import { LocalStore } from './local';
import { parseLocation, type S3Location } from './location';
import { S3Store } from './s3';
import type { Store } from './store';

// The two stores behind one interface, against a real SeaweedFS (S3) and a real directory: what
// deploy relies on (whole-object writes, listings with etags and times, copies, metadata).

let weed: SeaweedFS;
type SeaweedFS = SeaweedFs;
let tmp: string;
const saved = { ...process.env };

function withEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

beforeAll(async () => {
  weed = await startSeaweedFs();
  withEnv(weed.env);
  tmp = mkdtempSync(join(tmpdir(), 'nx-triton-store-'));
}, 120_000);

afterAll(async () => {
  process.env = saved;
  await weed?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function file(name: string, bytes: Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const stores: Array<[string, () => { store: Store; base: string }]> = [
  ['S3 (SeaweedFS)', () => ({ store: new S3Store(parseLocation(weed.url('repo')) as S3Location, { allowHttp: false }), base: 'repo' })],
  [
    'a local directory',
    () => {
      const dir = join(tmp, 'local', 'repo');
      mkdirSync(join(tmp, 'local'), { recursive: true });
      return { store: new LocalStore({ kind: 'local', dir, url: dir }), base: 'repo' };
    },
  ],
];

describe.each(stores)('the %s store', (_, make) => {
  it('puts files and bytes whole, lists them with sizes, etags and times, reads the sha256 it was given back', async () => {
    const { store, base } = make();
    await store.check();
    const small = randomBytes(1000);
    const big = randomBytes(40 * 2 ** 20 + 5);
    const sent: number[] = [];
    const a = await store.putFile(`${base}/m/1/model.bin`, file('big.bin', big), { sha256: sha(big), onBytes: (n) => sent.push(n) });
    await store.putBytes(`${base}/m/config.pbtxt`, small, { sha256: sha(small) });
    await store.putBytes(`${base}/m/2/`, Buffer.alloc(0));
    expect(a.size).toBe(big.length);
    expect(sent.at(-1)).toBe(big.length);
    const listed = await store.list(`${base}/m/`);
    expect(listed.map((o) => [o.key, o.size])).toEqual([
      [`${base}/m/1/model.bin`, big.length],
      [`${base}/m/2/`, 0],
      [`${base}/m/config.pbtxt`, 1000],
    ]);
    expect(listed.every((o) => o.etag !== '' && o.mtimeMs > Date.now() - 600_000)).toBe(true);
    expect(listed[0].etag).toBe(a.etag);
    expect(await store.sha256Of(`${base}/m/1/model.bin`)).toBe(sha(big));
    expect(await store.sha256Of(`${base}/m/absent`)).toBeUndefined();
    expect(await store.get(`${base}/m/config.pbtxt`)).toEqual(small);
    expect(await store.get(`${base}/m/absent`)).toBeUndefined();
    // A rewrite is a new etag.
    const again = await store.putBytes(`${base}/m/config.pbtxt`, randomBytes(1000));
    expect(again.etag).not.toBe(listed[2].etag);
  });

  it('copies objects inside the store (keeping the sha256), also onto themselves, and removes them with the directories they leave', async () => {
    const { store, base } = make();
    const bytes = randomBytes(3000);
    await store.putBytes(`${base}/c/1/model.py`, bytes, { sha256: sha(bytes) });
    const copied = await store.copy(`${base}/c/1/model.py`, `${base}.nx-triton/backup/c/x/1/model.py`);
    expect(copied.size).toBe(3000);
    expect(await store.get(`${base}.nx-triton/backup/c/x/1/model.py`)).toEqual(bytes);
    expect(await store.sha256Of(`${base}.nx-triton/backup/c/x/1/model.py`)).toBe(sha(bytes));
    const before = (await store.list(`${base}/c/`))[0];
    await new Promise((r) => setTimeout(r, 1100));
    await store.copy(`${base}/c/1/model.py`, `${base}/c/1/model.py`);
    const after = (await store.list(`${base}/c/`))[0];
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs);
    expect(await store.get(`${base}/c/1/model.py`)).toEqual(bytes);
    await store.remove([`${base}/c/1/model.py`, `${base}/c/not-there`]);
    expect(await store.list(`${base}/c/`)).toEqual([]);
  });
});

describe('the S3 store', () => {
  const s3 = (url = weed.url('repo'), allowHttp = false) => new S3Store(parseLocation(url) as S3Location, { allowHttp });

  it('copies objects above its copy limit part by part (UploadPartCopy)', async () => {
    const bytes = randomBytes(12 * 2 ** 20 + 7);
    const store = new S3Store(parseLocation(weed.url('repo')) as S3Location, { allowHttp: false, copyLimit: 5 * 2 ** 20, copyPartSize: 5 * 2 ** 20 });
    await store.putFile('repo/big/1/w.bin', file('w.bin', bytes), { sha256: sha(bytes) });
    const copied = await store.copy('repo/big/1/w.bin', 'repo.nx-triton/backup/big/1/w.bin');
    expect(copied.etag).toMatch(/-3"$/);
    // (sha256s compared: vitest's deep equality walks a 12 MiB buffer element by element)
    expect(sha((await store.get('repo.nx-triton/backup/big/1/w.bin'))!)).toBe(sha(bytes));
    expect(await store.sha256Of('repo.nx-triton/backup/big/1/w.bin')).toBe(sha(bytes));
  });

  it('aborts multipart uploads left unfinished under a prefix', async () => {
    await weed.client.send(new CreateMultipartUploadCommand({ Bucket: weed.bucket, Key: 'repo/killed/1/w.bin' }));
    const store = s3();
    expect(await store.abortIncompleteUploads!('repo/killed/')).toBe(1);
    const left = await weed.client.send(new ListMultipartUploadsCommand({ Bucket: weed.bucket, Prefix: 'repo/killed/' }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  it('says in one line when the credentials are refused, and never prints the secret', async () => {
    withEnv({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-0123456789' });
    try {
      const err = await s3().check().catch((e: Error) => e);
      expect((err as Error).message).toBe(
        `${weed.url('repo')}: the S3 endpoint refused the credentials (SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.); nx-triton takes them from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)`,
      );
    } finally {
      withEnv(weed.env);
    }
    withEnv({ AWS_ACCESS_KEY_ID: 'AKIDNOTKNOWN000000' });
    try {
      const err = (await s3().check().catch((e: Error) => e)) as Error;
      expect(err.message.split('\n')).toHaveLength(1);
      expect(err.message).toContain('refused the credentials (InvalidAccessKeyId');
      expect(err.message).not.toContain('AKIDNOTKNOWN000000');
    } finally {
      withEnv(weed.env);
    }
  });

  it('says in one line that an endpoint does not answer, or that the bucket is missing', async () => {
    const port = await freePort();
    const err = (await s3(`s3://127.0.0.1:${port}/models/repo`).check().catch((e: Error) => e)) as Error;
    expect(err.message).toBe(`s3://127.0.0.1:${port}/models/repo: cannot reach the S3 endpoint while checking the destination (ECONNREFUSED)`);
    const missing = (await s3(weed.url('repo').replace('/models/', '/nobucket/')).check().catch((e: Error) => e)) as Error;
    expect(missing.message).toBe(`${weed.url('repo').replace('/models/', '/nobucket/')}: the bucket does not exist (create it first)`);
  }, 120_000);

  it('refuses plain HTTP beyond loopback unless allowHttp', () => {
    expect(() => s3('s3://minio.internal:9000/models/staging')).toThrow(
      "s3://minio.internal:9000/models/staging: plain HTTP to minio.internal:9000 (Triton's s3://host:port form is HTTP): write s3://https://minio.internal:9000/models/staging for TLS, or set allowHttp: true in the environment (--allow-http)",
    );
    expect(() => s3('s3://minio.internal:9000/models/staging', true)).not.toThrow();
    expect(() => s3('s3://https://minio.internal:9000/models/staging')).not.toThrow();
  });
});

describe('the local store', () => {
  it('writes through a temp file renamed over the target, and never through a symbolic link', async () => {
    const dir = join(tmp, 'links', 'repo');
    mkdirSync(join(tmp, 'links', 'elsewhere'), { recursive: true });
    mkdirSync(dir, { recursive: true });
    symlinkSync(join(tmp, 'links', 'elsewhere'), join(dir, 'm'));
    const store = new LocalStore({ kind: 'local', dir, url: dir });
    await expect(store.putBytes('repo/m/config.pbtxt', Buffer.from('x'))).rejects.toThrow(`${dir}: ${join(dir, 'm')} is a symbolic link; nx-triton writes only real directories under the repository`);
    await store.putBytes('repo/n/config.pbtxt', Buffer.from('one'));
    const first = statSync(join(dir, 'n', 'config.pbtxt')).ino;
    await store.putBytes('repo/n/config.pbtxt', Buffer.from('two'));
    expect(statSync(join(dir, 'n', 'config.pbtxt')).ino).not.toBe(first);
  });

  it('makes the directories it needs, and says in one line when the path is a file', async () => {
    const store = new LocalStore({ kind: 'local', dir: join(tmp, 'no', 'such', 'repo'), url: join(tmp, 'no', 'such', 'repo') });
    await store.check();
    await store.putBytes('repo/m/config.pbtxt', Buffer.from('x'));
    expect(readFileSync(join(tmp, 'no', 'such', 'repo', 'm', 'config.pbtxt'), 'utf8')).toBe('x');
    writeFileSync(join(tmp, 'a-file'), '');
    const onFile = new LocalStore({ kind: 'local', dir: join(tmp, 'a-file', 'repo'), url: join(tmp, 'a-file', 'repo') });
    await expect(onFile.check()).rejects.toThrow(`${join(tmp, 'a-file', 'repo')}: ${join(tmp, 'a-file')} is not a directory`);
  });
});
