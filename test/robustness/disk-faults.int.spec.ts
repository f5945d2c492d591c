import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../lib/targets/build';
import { DIST, ensureDist } from '../dist';
import { userErrorMessage } from '../expect-user-error';
import { ABS_ONNX, bigOnnx, changed, modelWorkspace, rmrf, snapshot, tempRoot } from './helpers';

const CHILD = join(__dirname, '../children/rebuild-loop.cjs');
const YAML = 'name: victim\nexport: { file: model.onnx }\n';

let root: string;
let small: string;
let big: string;
const mounts: string[] = [];

/** A fresh tmpfs of `kib` KiB, or undefined where this machine does not let us mount one. */
function tmpfs(kib: number): string | undefined {
  // NX_TRITON_TEST_NO_MOUNT=1 runs the fallback here too.
  if (process.env.NX_TRITON_TEST_NO_MOUNT === '1') return undefined;
  const dir = join(root, `mnt-${mounts.length}`);
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(dir);
    return undefined;
  }
  mounts.push(dir);
  return dir;
}

function remountReadOnly(dir: string): void {
  const r = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
}

function build(ws: string, repository: string) {
  return buildModel({ workspaceRoot: ws, specFile: 'models/victim/triton.yaml', repository, resolveSpecFile: () => undefined });
}

/**
 * Where mounting is not allowed, the same failure is made real by a file size limit (RLIMIT_FSIZE)
 * on a child process: every write past `bytes` fails with EFBIG, as a full disk fails with ENOSPC.
 */
function buildWithFileSizeLimit(ws: string, repository: string, bytes: number): string {
  const json = JSON.stringify({ workspaces: [ws], repository, start: 0, count: 1 });
  const r = spawnSync('prlimit', [`--fsize=${bytes}`, process.execPath, CHILD, DIST, json], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout;
}

beforeAll(async () => {
  ensureDist();
  root = tempRoot('disk');
  small = join(root, 'ws-small');
  big = join(root, 'ws-big');
  modelWorkspace(small, 'victim', YAML, readFileSync(ABS_ONNX));
  modelWorkspace(big, 'victim', YAML, bigOnnx(4, 'B'));
});
afterAll(() => {
  for (const dir of mounts) spawnSync('umount', ['-l', dir]);
  rmrf(root);
});

describe('an unwritable output', () => {
  it('under a regular file (ENOTDIR, which even root cannot write through) gives one line naming the path', async () => {
    writeFileSync(join(root, 'not-a-dir'), 'x');
    const repository = join(root, 'not-a-dir/repo');
    const before = snapshot(root);
    expect(await userErrorMessage(build(small, repository))).toBe(
      `cannot write the model repository entry ${repository}/victim: a part of the path is a file, not a directory (mkdir ${repository}); the previous entry, if any, is left as it was`,
    );
    expect(changed(before, snapshot(root))).toEqual([]);
  });

  it('on a read-only filesystem fails with one line and leaves the previous entry as it was', async () => {
    const fs = tmpfs(8192);
    if (fs === undefined) {
      // No mounting here: a file size limit of 0 bytes makes every write fail for real instead.
      const repository = join(root, 'repo-ro');
      await build(small, repository);
      const before = snapshot(repository);
      const out = buildWithFileSizeLimit(big, repository, 0);
      expect(out).toMatch(new RegExp(`^ready\\nerror: UserError: cannot write the model repository entry ${repository}/victim: a file is larger than this system allows( \\(.+\\))?; the previous entry, if any, is left as it was\\n$`));
      expect(changed(before, snapshot(repository))).toEqual([]);
      return;
    }
    const repository = join(fs, 'repo');
    await build(small, repository);
    const before = snapshot(fs);
    remountReadOnly(fs);
    const message = await userErrorMessage(build(big, repository));
    expect(message).toMatch(new RegExp(`^cannot write the model repository entry ${repository}/victim: the filesystem is read-only \\(mkdir ${repository}/\\.victim\\.tmp-(?:[0-9a-f]{8}\\.){3}\\d+-[0-9a-f]{12}\\); the previous entry, if any, is left as it was$`));
    expect(changed(before, snapshot(fs))).toEqual([]);
  });

  it('on a full disk fails with one line, removes its temp files and leaves the previous entry as it was', async () => {
    const fs = tmpfs(1024);
    if (fs === undefined) {
      const repository = join(root, 'repo-full');
      await build(small, repository);
      const before = snapshot(repository);
      // A label file big enough to pass the limit.
      const labelled = join(root, 'ws-labels');
      modelWorkspace(labelled, 'victim', `${YAML}output: [{ name: y, data_type: fp32, dims: [3, 4, 5], label_filename: labels.txt }]\n`, readFileSync(ABS_ONNX));
      writeFileSync(join(labelled, 'models/victim/labels.txt'), 'label\n'.repeat(400_000));
      const out = buildWithFileSizeLimit(labelled, repository, 1024 * 1024);
      expect(out).toMatch(new RegExp(`^ready\\nerror: UserError: cannot write the model repository entry ${repository}/victim: a file is larger than this system allows \\(copyfile ${labelled}/models/victim/labels\\.txt -> ${repository}/\\.victim\\.tmp-(?:[0-9a-f]{8}\\.){3}\\d+-[0-9a-f]{12}/labels\\.txt\\); the previous entry, if any, is left as it was\\n$`));
      expect(changed(before, snapshot(repository))).toEqual([]);
      return;
    }
    // The 4 MiB model is copied and fills the 1 MiB disk.
    const repository = join(fs, 'repo');
    await build(small, repository);
    const before = snapshot(fs);
    const message = await userErrorMessage(build(big, repository));
    expect(message).toMatch(
      new RegExp(`^cannot write the model repository entry ${repository}/victim: no space left on the device \\(copyfile ${big}/dist/models/victim/export/model\\.onnx -> ${repository}/\\.victim\\.tmp-(?:[0-9a-f]{8}\\.){3}\\d+-[0-9a-f]{12}/1/model\\.onnx\\); the previous entry, if any, is left as it was$`),
    );
    expect(changed(before, snapshot(fs))).toEqual([]);
    // And once there is room again (a smaller model), the next build goes through.
    await build(small, repository);
    expect(readdirSync(repository)).toEqual(['victim']);
  });
});
