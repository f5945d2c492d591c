import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelsNeeded } from './closure';

// Issue 22 N12: `serve --model` reads each config.pbtxt as validate does (a regular file, links
// followed) and takes a model directory that is a symbolic link, which Triton follows (core
// model_repository_manager.cc stats each entry of the repository).

let repo: string;
let outside: string;
beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'nx-triton-closure-'));
  outside = mkdtempSync(join(tmpdir(), 'nx-triton-closure-outside-'));
});
afterEach(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const PIPE = 'name: "pipe"\nplatform: "ensemble"\nensemble_scheduling { step [ { model_name: "member" model_version: -1 } ] }\n';

describe('modelsNeeded', () => {
  it('takes a model directory, or its config.pbtxt, that is a symbolic link', () => {
    mkdirSync(join(repo, 'pipe'));
    writeFileSync(join(outside, 'pipe.pbtxt'), PIPE);
    symlinkSync(join(outside, 'pipe.pbtxt'), join(repo, 'pipe', 'config.pbtxt'));
    mkdirSync(join(outside, 'member'));
    writeFileSync(join(outside, 'member', 'config.pbtxt'), 'name: "member"\nbackend: "python"\n');
    symlinkSync(join(outside, 'member'), join(repo, 'member'));
    expect(modelsNeeded(repo, ['pipe'])).toEqual(['pipe', 'member']);
  });

  it('refuses a config.pbtxt that is a FIFO or a directory in one line, without blocking on it', () => {
    mkdirSync(join(repo, 'fifo'));
    execFileSync('mkfifo', [join(repo, 'fifo', 'config.pbtxt')]);
    expect(() => modelsNeeded(repo, ['fifo'])).toThrow(`nx-triton: model fifo: ${join(repo, 'fifo', 'config.pbtxt')}: not a regular file (a FIFO)`);
    mkdirSync(join(repo, 'dir', 'config.pbtxt'), { recursive: true });
    expect(() => modelsNeeded(repo, ['dir'])).toThrow(`nx-triton: model dir: ${join(repo, 'dir', 'config.pbtxt')}: not a regular file (a directory)`);
  });

  it('names a model that is missing, a file where its directory should be, or a dangling link', () => {
    writeFileSync(join(repo, 'file'), '');
    symlinkSync(join(outside, 'gone'), join(repo, 'dangling'));
    for (const name of ['nope', 'file', 'dangling']) {
      expect(() => modelsNeeded(repo, [name])).toThrow(`nx-triton: model ${name} is not in the repository ${repo} (no ${join(repo, name, 'config.pbtxt')}; build it first)`);
    }
  });
});
