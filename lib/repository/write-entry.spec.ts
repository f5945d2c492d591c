import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { EMPTY_VERSION_MARKER } from '../layout';
import { ownerTag, PIDNS_ID } from '../system/owner';
import { writeModelEntry } from './write-entry';

let root: string;
let repo: string;
let src: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nx-triton-write-'));
  repo = join(root, 'repo');
  src = join(root, 'src');
  mkdirSync(join(src, 'export'), { recursive: true });
  writeFileSync(join(src, 'export', 'model.onnx'), 'onnx-bytes');
  writeFileSync(join(src, 'labels.txt'), 'cat\ndog\n');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Every file under dir, relative, with its content. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else out[`${prefix}${name}`] = readFileSync(p, 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

const basic = () => ({
  repository: repo,
  name: 'my_nn',
  configText: 'name: "my_nn"\n',
  versions: [{ version: 1, files: [{ src: join(src, 'export', 'model.onnx'), dest: 'model.onnx' }] }],
  extraFiles: [{ src: join(src, 'labels.txt'), dest: 'labels.txt' }],
});

describe('writeModelEntry', () => {
  it('writes config, version files and extra files, and nothing else in the repository', async () => {
    await writeModelEntry(basic());
    expect(tree(join(repo, 'my_nn'))).toEqual({ '1/model.onnx': 'onnx-bytes', 'config.pbtxt': 'name: "my_nn"\n', 'labels.txt': 'cat\ndog\n' });
    expect(readdirSync(repo)).toEqual(['my_nn']);
  });

  it('copies model files and extra files: an entry never shares a file with the export (no hard link)', async () => {
    await writeModelEntry(basic());
    expect(statSync(join(repo, 'my_nn', '1', 'model.onnx')).ino).not.toBe(statSync(join(src, 'export', 'model.onnx')).ino);
    expect(statSync(join(repo, 'my_nn', '1', 'model.onnx')).nlink).toBe(1);
    expect(statSync(join(repo, 'my_nn', 'labels.txt')).ino).not.toBe(statSync(join(src, 'labels.txt')).ino);
  });

  it('is byte-stable and replaces the previous entry whole', async () => {
    await writeModelEntry(basic());
    const first = tree(join(repo, 'my_nn'));
    writeFileSync(join(repo, 'my_nn', 'stale.txt'), 'left over');
    await writeModelEntry(basic());
    expect(tree(join(repo, 'my_nn'))).toEqual(first);
    expect(readdirSync(repo)).toEqual(['my_nn']);
  });

  it('copies directory sources recursively (model.onnx/ with external data, several versions)', async () => {
    mkdirSync(join(src, 'v1', 'model.onnx'), { recursive: true });
    writeFileSync(join(src, 'v1', 'model.onnx', 'model.onnx'), 'graph');
    writeFileSync(join(src, 'v1', 'model.onnx', 'weights.bin'), 'w');
    symlinkSync('weights.bin', join(src, 'v1', 'model.onnx', 'alias.bin'));
    await writeModelEntry({ ...basic(), extraFiles: [], versions: [{ version: 1, from: join(src, 'v1') }, { version: 3, files: [{ src: join(src, 'v1', 'model.onnx'), dest: 'model.onnx' }] }] });
    expect(tree(join(repo, 'my_nn'))).toEqual({
      '1/model.onnx/alias.bin': 'w',
      '1/model.onnx/model.onnx': 'graph',
      '1/model.onnx/weights.bin': 'w',
      '3/model.onnx/alias.bin': 'w',
      '3/model.onnx/model.onnx': 'graph',
      '3/model.onnx/weights.bin': 'w',
      'config.pbtxt': 'name: "my_nn"\n',
    });
  });

  it('keeps an ensemble version directory alive with a marker file', async () => {
    await writeModelEntry({ repository: repo, name: 'ens', configText: 'platform: "ensemble"\n', versions: [{ version: 1, files: [] }] });
    expect(tree(join(repo, 'ens'))).toEqual({ [`1/${EMPTY_VERSION_MARKER}`]: '', 'config.pbtxt': 'platform: "ensemble"\n' });
  });

  it('leaves the previous entry intact when a source disappears mid-write', async () => {
    await writeModelEntry(basic());
    const before = tree(join(repo, 'my_nn'));
    rmSync(join(src, 'labels.txt'));
    await expect(writeModelEntry({ ...basic(), configText: 'name: "changed"\n' })).rejects.toThrow(`cannot copy ${join(src, 'labels.txt')}: no such file or directory`);
    expect(tree(join(repo, 'my_nn'))).toEqual(before);
    expect(readdirSync(repo)).toEqual(['my_nn']);
  });

  it('recovers from an interrupted swap and removes temp dirs of dead writers', async () => {
    await writeModelEntry(basic());
    // A writer (pid 999999999: not running) was killed between moving the entry aside and renaming its temp dir in.
    const old = join(repo, `.my_nn.old-${ownerTag(999999999)}-0123456789ab`);
    const tmp = join(repo, `.my_nn.tmp-${ownerTag(999999999)}-ba9876543210`);
    const { renameSync } = await import('node:fs');
    renameSync(join(repo, 'my_nn'), old);
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'config.pbtxt'), 'half');
    // Another model whose name looks like a side dir is left alone.
    mkdirSync(join(repo, '.my_nn.tmp-1-x'));
    writeFileSync(join(src, 'export', 'model.onnx'), 'new-bytes');
    // A write that fails still leaves the recovered entry in place.
    await expect(writeModelEntry({ ...basic(), extraFiles: [{ src: join(src, 'nope'), dest: 'x' }] })).rejects.toBeInstanceOf(UserError);
    expect(readdirSync(repo).sort()).toEqual(['.my_nn.tmp-1-x', 'my_nn']);
    expect(readFileSync(join(repo, 'my_nn', 'config.pbtxt'), 'utf8')).toBe('name: "my_nn"\n');
  });

  // Issue 22, N5: a writer in another PID namespace (a container sharing the workspace and the host name)
  // cannot be judged by its pid: its temp dir is left while its heartbeat (mtime) is fresh.
  it('judges a writer of another PID namespace by its heartbeat, never by its pid', async () => {
    await writeModelEntry(basic());
    const [host, boot, , pid] = ownerTag(999999999).split('.');
    const foreign = `${host}.${boot}.${PIDNS_ID === '00000000' ? '11111111' : '00000000'}.${pid}`;
    const live = join(repo, `.my_nn.tmp-${foreign}-0123456789ab`);
    const stale = join(repo, `.my_nn.tmp-${foreign}-ba9876543210`);
    for (const dir of [live, stale]) mkdirSync(dir);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(stale, hourAgo, hourAgo);
    await writeModelEntry(basic());
    expect(readdirSync(repo).sort()).toEqual([`.my_nn.tmp-${foreign}-0123456789ab`, 'my_nn']);
  });

  it.each([
    ['../evil', 'it goes up with ".."'],
    ['/etc/passwd', 'it is absolute'],
    ['a/../../b', 'it goes up with ".."'],
    ['a\0b', 'it contains a NUL character'],
    ['', 'it is empty'],
  ])('refuses the dest path %j', async (dest, why) => {
    await expect(writeModelEntry({ ...basic(), extraFiles: [{ src: join(src, 'labels.txt'), dest }] })).rejects.toThrow(
      `file ${JSON.stringify(dest)} cannot be written into the model directory: ${why}`,
    );
    await expect(writeModelEntry({ ...basic(), versions: [{ version: 1, files: [{ src: join(src, 'labels.txt'), dest }] }] })).rejects.toThrow(
      `model file ${JSON.stringify(dest)} cannot be written into the model directory: ${why}`,
    );
    expect(readdirSync(root)).toEqual(['src']);
  });

  it('refuses bad names, versions and collisions', async () => {
    await expect(writeModelEntry({ ...basic(), name: '../x' })).rejects.toThrow('a model name cannot contain "/"');
    await expect(writeModelEntry({ ...basic(), name: '..' })).rejects.toThrow('a model name cannot be ".."');
    await expect(writeModelEntry({ ...basic(), versions: [{ version: 0, files: [] }] })).rejects.toThrow('version 0 of model "my_nn" is not a positive integer');
    await expect(writeModelEntry({ ...basic(), extraFiles: [{ src: join(src, 'labels.txt'), dest: 'config.pbtxt' }] })).rejects.toThrow('file "config.pbtxt" is given twice');
    await expect(writeModelEntry({ ...basic(), extraFiles: [{ src: join(src, 'labels.txt'), dest: '1/x' }] })).rejects.toThrow('would land in a version directory');
  });

  it('refuses a symlink that points outside its source', async () => {
    mkdirSync(join(src, 'v1'));
    symlinkSync(join(src, 'labels.txt'), join(src, 'v1', 'model.onnx'));
    await expect(writeModelEntry({ ...basic(), versions: [{ version: 1, from: join(src, 'v1') }] })).rejects.toThrow(
      /v1\/model\.onnx is a symbolic link to .*labels\.txt, outside .*v1; copy the file in instead/,
    );
    expect(readdirSync(repo)).toEqual([]);
  });
});
