import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EntryFile, Journal, Manifest } from './manifest';
import { planModel, recordedSha, staleEntries, writeOrder, type Live } from './plan';
import type { StoredObject } from './store';

// The plan of one model's deploy, without I/O: what is written, deleted and saved first.

const file = (rel: string, sha256: string, size = 10): EntryFile => ({ rel, sha256, size, path: `/built/m/${rel}` });
const object = (rel: string, etag: string, size = 10, mtimeMs = 1000): StoredObject => ({ key: `repo/m/${rel}`, size, etag, mtimeMs });
const liveOf = (...objects: StoredObject[]): Live => new Map(objects.map((o) => [o.key.slice('repo/m/'.length), o]));

describe('planModel', () => {
  it('writes nothing when the stored files are the built ones', () => {
    const target = [file('config.pbtxt', 'c1'), file('1/model.py', 'p1')];
    const live = liveOf(object('config.pbtxt', 'e1'), object('1/model.py', 'e2'));
    const plan = planModel(target, live, new Map([['config.pbtxt', 'c1'], ['1/model.py', 'p1']]), undefined, undefined);
    expect(plan).toMatchObject({ unchanged: true, puts: [], deletes: [], backups: [] });
  });

  it('puts the changed files, deletes the ones no longer built, and saves the previous ones it replaces or deletes', () => {
    const target = [file('config.pbtxt', 'c1'), file('1/model.py', 'p2'), file('1/new.py', 'n1')];
    const live = liveOf(object('config.pbtxt', 'e1'), object('1/model.py', 'e2'), object('2/model.py', 'e3'));
    const sha = new Map([['config.pbtxt', 'c1'], ['1/model.py', 'p1'], ['2/model.py', 'q1']]);
    const plan = planModel(target, live, sha, undefined, undefined);
    expect(plan.unchanged).toBe(false);
    expect(plan.puts.map((f) => f.rel)).toEqual(['1/model.py', '1/new.py']);
    expect(plan.deletes).toEqual(['2/model.py']);
    expect(plan.backups).toEqual(['1/model.py', '2/model.py']);
    expect(plan.previous).toEqual({
      files: { 'config.pbtxt': { sha256: 'c1', size: 10, etag: 'e1' }, '1/model.py': { sha256: 'p1', size: 10, etag: 'e2' }, '2/model.py': { sha256: 'q1', size: 10, etag: 'e3' } },
      manifest: false,
    });
  });

  it('takes a stored file rewritten behind its back as a change even when it now holds the built bytes (recorded again, reloaded)', () => {
    const manifest = { files: { 'config.pbtxt': { sha256: 'c1', size: 10, etag: 'e1' }, '1/model.py': { sha256: 'p1', size: 10, etag: 'e2' } } } as unknown as Manifest;
    const target = [file('config.pbtxt', 'c1'), file('1/model.py', 'p2')];
    // 1/model.py was replaced in the bucket by someone else, with the bytes now built
    const live = liveOf(object('config.pbtxt', 'e1'), object('1/model.py', 'e9'));
    const plan = planModel(target, live, new Map([['config.pbtxt', 'c1'], ['1/model.py', 'p2']]), manifest, undefined);
    expect(plan).toMatchObject({ unchanged: false, puts: [], deletes: [], drifted: ['1/model.py'] });
    expect(planModel(target, liveOf(object('config.pbtxt', 'e1'), object('1/model.py', 'e2')), new Map([['config.pbtxt', 'c1'], ['1/model.py', 'p1']]), manifest, undefined).drifted).toEqual([]);
  });

  it('completes an unfinished deploy: its previous state stays what a rollback restores, its saved copies are kept', () => {
    const journal: Journal = {
      nxTriton: 1,
      model: 'm',
      id: 'j1',
      host: 'h',
      pid: 1,
      startedAt: 't',
      phase: 'write',
      previous: { files: { 'config.pbtxt': { sha256: 'c1', size: 10, etag: 'e1' }, '1/w.bin': { sha256: 'w1', size: 10, etag: 'e2' } }, manifest: true },
      backups: { '1/w.bin': 'repo.nx-triton/backup/m/j1/1/w.bin' },
      target: {},
      newestMtimeMs: 0,
    };
    // The killed deploy had replaced 1/w.bin already; config.pbtxt changes now too.
    const live = liveOf(object('config.pbtxt', 'e1'), object('1/w.bin', 'e9'));
    const sha = new Map([['config.pbtxt', 'c1'], ['1/w.bin', 'w2']]);
    const plan = planModel([file('config.pbtxt', 'c2'), file('1/w.bin', 'w2')], live, sha, undefined, journal);
    expect(plan.unchanged).toBe(false);
    expect(plan.puts.map((f) => f.rel)).toEqual(['config.pbtxt']);
    expect(plan.previous).toBe(journal.previous);
    expect(plan.savedBackups).toEqual(journal.backups);
    expect(plan.backups).toEqual(['config.pbtxt']);
    // Even with nothing left to write, an unfinished deploy is finished (loaded, recorded).
    expect(planModel([file('config.pbtxt', 'c1'), file('1/w.bin', 'w2')], live, sha, undefined, journal).unchanged).toBe(false);
  });

  it('redoes every saved copy of a deploy killed while it was saving them', () => {
    const journal = { phase: 'backup', previous: { files: { 'a.txt': { sha256: 'a1', size: 1 } }, manifest: true }, backups: { 'a.txt': 'x' } } as unknown as Journal;
    const plan = planModel([file('a.txt', 'a2')], liveOf(object('a.txt', 'e')), new Map([['a.txt', 'a1']]), undefined, journal);
    expect(plan.savedBackups).toEqual({});
    expect(plan.backups).toEqual(['a.txt']);
  });

  it('property: the plan turns the stored files into the built ones, and saves every previous file it touches first', () => {
    const rels = fc.constantFrom('config.pbtxt', '1/model.py', '1/w.bin', '2/model.py', 'labels.txt', '1/');
    fc.assert(
      fc.property(fc.dictionary(rels, fc.constantFrom('a', 'b', 'c')), fc.dictionary(rels, fc.constantFrom('a', 'b', 'c')), (built, stored) => {
        const target = Object.entries(built).map(([rel, sha]) => file(rel, sha));
        const live = liveOf(...Object.keys(stored).map((rel) => object(rel, `e-${rel}`)));
        const sha = new Map(Object.entries(stored));
        const plan = planModel(target, live, sha, undefined, undefined);
        const after = new Map<string, string>(Object.entries(stored));
        for (const f of plan.puts) after.set(f.rel, f.sha256);
        for (const rel of plan.deletes) after.delete(rel);
        expect(Object.fromEntries(after)).toEqual(built);
        const touched = [...plan.puts.map((f) => f.rel), ...plan.deletes];
        for (const rel of touched) if (rel in stored && !rel.endsWith('/')) expect(plan.backups).toContain(rel);
        expect(plan.unchanged).toBe(touched.length === 0);
      }),
    );
  });
});

describe('recordedSha', () => {
  const manifest = { files: { 'config.pbtxt': { sha256: 'c1', size: 10, etag: 'e1' } } } as unknown as Manifest;
  it('trusts the manifest only while the object is the one it recorded', () => {
    expect(recordedSha('config.pbtxt', object('config.pbtxt', 'e1'), manifest, undefined)).toBe('c1');
    expect(recordedSha('config.pbtxt', object('config.pbtxt', 'e2'), manifest, undefined)).toBeUndefined();
    expect(recordedSha('config.pbtxt', object('config.pbtxt', 'e1', 11), manifest, undefined)).toBeUndefined();
    expect(recordedSha('1/model.py', object('1/model.py', 'e1'), manifest, undefined)).toBeUndefined();
  });
});

describe('writeOrder', () => {
  it('writes the largest files first and config.pbtxt last', () => {
    const order = writeOrder([file('config.pbtxt', 'c', 100), file('1/model.onnx/model.onnx', 'g', 2_000), file('1/model.onnx/model.onnx.data', 'd', 900_000), file('labels.txt', 'l', 50)]);
    expect(order.map((f) => f.rel)).toEqual(['1/model.onnx/model.onnx.data', '1/model.onnx/model.onnx', 'labels.txt', 'config.pbtxt']);
  });
});

describe('staleEntries', () => {
  const at = (rel: string, mtimeMs: number) => object(rel, 'e', 10, mtimeMs);
  it('finds the changed entries Triton would not see as newer (S3 times are whole seconds)', () => {
    const after = [at('config.pbtxt', 5000), at('1/model.py', 5000), at('labels.txt', 4000)];
    expect(staleEntries(new Set(['1']), after, 5000, 'repo/m/')).toEqual(['1']);
    expect(staleEntries(new Set(['1']), after, 4000, 'repo/m/')).toEqual([]);
    expect(staleEntries(new Set(['1', 'labels.txt']), after, 4500, 'repo/m/')).toEqual(['labels.txt']);
  });

  it('writes config.pbtxt again when only a whole entry went away and nothing is newer', () => {
    expect(staleEntries(new Set(['2']), [at('config.pbtxt', 3000), at('1/model.py', 3000)], 3000, 'repo/m/')).toEqual(['config.pbtxt']);
    expect(staleEntries(new Set(['2']), [at('config.pbtxt', 3000), at('1/model.py', 4000)], 3000, 'repo/m/')).toEqual([]);
  });
});
