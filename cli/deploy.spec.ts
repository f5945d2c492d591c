import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addModelFiles, addModelPy, writeFiles } from '../test/python-models';
import { run as deploy } from './deploy';
import { run as status } from './status';
import { runVerb } from '../test/cli';

// nx-triton deploy and status: their arguments, and a directory destination without servers (S3,
// servers and a killed deploy: e2e/deploy.e2e.ts).

let ws: string;
beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-cli-deploy-'));
  writeFiles(join(ws, 'built'), { ...addModelFiles('add', 1), ...addModelFiles('other', 2) });
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

const cli = (verb: typeof deploy, ...argv: string[]) => runVerb(verb, argv);

describe('nx-triton deploy', () => {
  it('exits 2 with the usage for a usage error', async () => {
    expect(await cli(deploy)).toMatchObject({ code: 2, err: expect.stringMatching(/^nx-triton deploy: expected one built repository directory, got 0\nusage: nx-triton deploy /) });
    expect(await cli(deploy, 'built')).toMatchObject({ code: 2, err: expect.stringMatching(/^nx-triton deploy: --to <repository> is required\n/) });
    expect(await cli(deploy, 'built', '--to', 'x', '--servers', 'y')).toMatchObject({ code: 2, err: expect.stringMatching(/^nx-triton deploy: Unknown option '--servers'/) });
    expect((await cli(deploy, '--help')).code).toBe(0);
  });

  it('deploys a whole built repository, or the --model ones, and status tells what matches', async () => {
    const to = join(ws, 'deployed', 'models');
    const first = await cli(deploy, join(ws, 'built'), '--to', to, '--model', 'add');
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(readdirSync(to)).toEqual(['add']);
    expect(await cli(deploy, join(ws, 'built'), '--to', to)).toMatchObject({ code: 0, err: '' });
    expect(readdirSync(to).sort()).toEqual(['add', 'other']);
    const ok = await cli(status, '--to', to);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^add: ok \(2 file\(s\), deployed \S+\)\nother: ok \(2 file\(s\), deployed \S+\)\n$/);
    writeFileSync(join(to, 'other', '1', 'model.py'), addModelPy(3));
    expect(await cli(status, '--to', to)).toMatchObject({ code: 1, err: 'other/1/model.py: changed since it was deployed\n' });
  });

  it('says in one line that a model is not built, or a server is not there', async () => {
    const r = await cli(deploy, join(ws, 'built'), '--to', join(ws, 'deployed'), '--model', 'nope');
    expect(r).toMatchObject({ code: 1, err: `nx-triton: model nope is not in the repository ${join(ws, 'built')} (no ${join(ws, 'built', 'nope', 'config.pbtxt')}; build it first)\n` });
    const http = await cli(deploy, join(ws, 'built'), '--to', join(ws, 'deployed'), '--server', 'http://triton.example.com:8000');
    expect(http).toMatchObject({ code: 1, err: 'nx-triton deploy: server http://triton.example.com:8000: plain HTTP beyond loopback; use https://, or set allowHttp: true in the environment (--allow-http)\n' });
  });
});

describe('nx-triton status', () => {
  it('exits 2 with the usage for a usage error', async () => {
    expect(await cli(status)).toMatchObject({ code: 2, err: expect.stringMatching(/^nx-triton status: --to <repository> is required\n/) });
    expect(await cli(status, 'extra')).toMatchObject({ code: 2 });
  });
});
