// 8. `nx-triton deploy` against Debian's `aws s3 sync` (awscli) to the same SeaweedFS (test/seaweedfs.cjs):
//   8a first deploy of a repository with a 1 GiB model (a fresh prefix each run);
//   8b an unchanged redeploy of 50 models against aws's no-op sync of the same 50;
//   8c one changed model of 50: the bytes uploaded against that model's changed bytes (and no other object rewritten).
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { log, median, MiB, GiB, remove, repoRoot, runs, sync, timed, warmPageCache, workDir } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const { startSeaweedFs } = require('../test/seaweedfs.cjs');

const AWS = '/usr/bin/aws';
const CLI = join(repoRoot, 'dist', 'cli', 'main.js');
const GOAL_FIRST = 1.1;
const GOAL_NOOP = 0.5;
const MODELS = 50;
const MODEL_BYTES = 2 * MiB;

const CONFIG = (name) =>
  `name: "${name}"\nbackend: "python"\nmax_batch_size: 4\ninput [ { name: "X" data_type: TYPE_FP32 dims: [ 2 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 2 ] } ]\ninstance_group [ { kind: KIND_CPU } ]\n`;
const MODEL_PY = 'import triton_python_backend_utils as pb_utils\n\nclass TritonPythonModel:\n    def execute(self, requests):\n        return []\n';

/** A repository entry: config.pbtxt, 1/model.py and 1/weights.bin of `bytes` random bytes (written in 64 MiB chunks). */
function writeModel(repo, name, bytes) {
  mkdirSync(join(repo, name, '1'), { recursive: true });
  writeFileSync(join(repo, name, 'config.pbtxt'), CONFIG(name));
  writeFileSync(join(repo, name, '1', 'model.py'), MODEL_PY);
  const fd = openSync(join(repo, name, '1', 'weights.bin'), 'w');
  try {
    for (let left = bytes; left > 0; left -= 64 * MiB) writeSync(fd, randomBytes(Math.min(left, 64 * MiB)));
  } finally {
    closeSync(fd);
  }
}

export async function bench() {
  for (const tool of [AWS]) {
    try {
      timed([tool, '--version']);
    } catch {
      throw new Error(`${tool} is missing: apt-get install awscli (scripts/setup-python.sh installs it)`);
    }
  }
  const dir = join(workDir, 'b8');
  remove(dir);
  mkdirSync(dir, { recursive: true });
  const weed = await startSeaweedFs();
  const env = { ...weed.env, AWS_PAGER: '' };
  const aws = (args) => timed([AWS, '--endpoint-url', weed.endpoint, ...args, '--only-show-errors'], { env });
  const ours = (args) => timed(['node', CLI, 'deploy', ...args], { env });
  const dropPrefix = (prefix) => aws(['s3', 'rm', `s3://${weed.bucket}/${prefix}`, '--recursive']);
  try {
    // 8a: one model with a 1 GiB file.
    const one = join(dir, 'one');
    writeModel(one, 'big', GiB);
    warmPageCache(join(one, 'big', '1', 'weights.bin'));
    const firstOurs = [];
    const firstAws = [];
    const n = runs(3);
    for (let i = 0; i < n; i++) {
      log(`8a: run ${i + 1}/${n}`);
      sync();
      firstOurs.push(ours([one, '--to', weed.url(`ours-${i}`)]).ms);
      sync();
      firstAws.push(aws(['s3', 'sync', one, `s3://${weed.bucket}/aws-${i}`]).ms);
      // Untimed: keep the store's disk from filling up.
      dropPrefix(`ours-${i}`);
      dropPrefix(`ours-${i}.nx-triton`);
      dropPrefix(`aws-${i}`);
    }
    remove(one);

    // 8b, 8c: 50 models of 2 MiB, deployed once by each tool (untimed), then again with nothing changed.
    const many = join(dir, 'many');
    for (let m = 0; m < MODELS; m++) writeModel(many, `m${String(m).padStart(2, '0')}`, MODEL_BYTES);
    ours([many, '--to', weed.url('ours50')]);
    aws(['s3', 'sync', many, `s3://${weed.bucket}/aws50`]);
    // Untimed: a redeploy that fills this machine's digest cache (files are remembered once stable for 2 s).
    ours([many, '--to', weed.url('ours50')]);
    const noopOurs = [];
    const noopAws = [];
    for (let i = 0; i < runs(5); i++) {
      log(`8b: run ${i + 1}/${runs(5)}`);
      const r = ours([many, '--to', weed.url('ours50')]);
      if (!r.stdout.includes(`${MODELS} model(s) to ${weed.url('ours50')}: 0 changed`)) throw new Error(`8b: the redeploy changed something:\n${r.stdout}`);
      noopOurs.push(r.ms);
      noopAws.push(aws(['s3', 'sync', many, `s3://${weed.bucket}/aws50`]).ms);
    }

    log('8c: one changed model of 50');
    const listing = async (prefix) => {
      const { ListObjectsV2Command } = require('@aws-sdk/client-s3');
      const out = {};
      let token;
      do {
        const page = await weed.client.send(new ListObjectsV2Command({ Bucket: weed.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out[o.Key] = `${o.ETag} ${o.LastModified?.toISOString()}`;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    };
    const before = await listing('ours50');
    writeModel(many, 'm17', MODEL_BYTES);
    const changed = ours([many, '--to', weed.url('ours50')]);
    const summary = /(\d+) model\(s\) to \S+: 1 changed \((\d+) file\(s\), ([\d.]+) (\S+) uploaded\)/.exec(changed.stdout);
    if (!summary) throw new Error(`8c: no summary line:\n${changed.stdout}`);
    const after = await listing('ours50');
    const rewritten = Object.keys(after).filter((k) => after[k] !== before[k]).sort();
    // Only m17's weights (the one file that changed) and its manifest.
    const expected = ['ours50.nx-triton/manifests/m17.json', 'ours50/m17/1/weights.bin'];
    const onlyIts = JSON.stringify(rewritten) === JSON.stringify(expected);
    const changedAws = aws(['s3', 'sync', many, `s3://${weed.bucket}/aws50`]).ms;

    const rFirst = median(firstOurs) / median(firstAws);
    const rNoop = median(noopOurs) / median(noopAws);
    return [
      {
        id: '8a',
        name: 'first deploy of a repository with a 1 GiB model: `nx-triton deploy --to s3://` vs `aws s3 sync` (Debian awscli), same SeaweedFS',
        ours: median(firstOurs),
        baseline: median(firstAws),
        ratio: rFirst,
        goal: `<= ${GOAL_FIRST}x`,
        met: rFirst <= GOAL_FIRST,
        extra: `runs ours ${firstOurs.map((x) => (x / 1000).toFixed(1)).join('/')} s, aws ${firstAws.map((x) => (x / 1000).toFixed(1)).join('/')} s (includes hashing the file)`,
        samples: { ours: firstOurs, baseline: firstAws },
      },
      {
        id: '8b',
        name: `unchanged redeploy of ${MODELS} models (${MODEL_BYTES / MiB} MiB each) vs aws s3 sync's no-op`,
        ours: median(noopOurs),
        baseline: median(noopAws),
        ratio: rNoop,
        goal: `<= ${GOAL_NOOP}x`,
        met: rNoop <= GOAL_NOOP,
        samples: { ours: noopOurs, baseline: noopAws },
      },
      {
        id: '8c',
        name: `one changed model of ${MODELS}: files rewritten in the bucket, bytes uploaded`,
        ours: changed.ms,
        baseline: changedAws,
        ratio: changed.ms / changedAws,
        goal: 'only its bytes',
        met: onlyIts && summary[2] === '1',
        extra: `rewritten: ${rewritten.join(', ')}; uploaded ${summary[2]} file(s), ${summary[3]} ${summary[4]} (the changed weights.bin: ${MODEL_BYTES / MiB} MiB); times are info (aws s3 sync of the same change)`,
      },
    ];
  } finally {
    await weed.stop();
    remove(dir);
  }
}
