// 3. `nx-triton inspect` of a 1 GiB ONNX (weights inside) vs onnxruntime-node loading it.
import { join } from 'node:path';
import { onnx1GiBInternal } from './lib/fixtures.mjs';
import { benchDir, fmtMiB, log, median, MiB, repoRoot, requireDist, runs, timed, warmPageCache } from './lib/util.mjs';

const RATIO_GOAL = 0.02;
const RSS_GOAL = 150 * MiB;

export async function bench() {
  const file = onnx1GiBInternal();
  const cli = ['node', join(repoRoot, 'dist', 'cli', 'main.js'), 'inspect', file];
  const ort = ['node', join(benchDir, 'probes', 'ort-load.cjs'), file];

  // Untimed: both read the file from the page cache afterwards, equally.
  warmPageCache(file);
  timed(cli);

  const cliMs = [];
  const rss = [];
  for (let i = 0; i < runs(); i++) {
    const r = timed(cli, { rss: true });
    cliMs.push(r.ms);
    rss.push(r.rssBytes);
  }
  const ortMs = [];
  const ortCreateMs = [];
  const ortRss = [];
  for (let i = 0; i < runs(3); i++) {
    log(`3: onnxruntime-node load ${i + 1}/${runs(3)}`);
    const r = timed(ort, { rss: true });
    ortMs.push(r.ms);
    ortCreateMs.push(JSON.parse(r.stdout.trim().split('\n').pop()).createMs);
    ortRss.push(r.rssBytes);
  }

  // The library call in this process (after one warm-up call), against InferenceSession.create alone.
  const { readOnnxSignatureSync } = requireDist('./lib/onnx/index.js');
  readOnnxSignatureSync(file);
  const libMs = [];
  const heapBefore = process.memoryUsage().rss;
  for (let i = 0; i < Math.max(5, runs() * 4); i++) {
    const t = performance.now();
    readOnnxSignatureSync(file);
    libMs.push(performance.now() - t);
  }

  // The floor of any node CLI on this machine, for the notes.
  const nodeMs = [];
  for (let i = 0; i < runs(); i++) nodeMs.push(timed(['node', '-e', '0']).ms);

  const peak = Math.max(...rss);
  const cliRatio = median(cliMs) / median(ortMs);
  const libRatio = median(libMs) / median(ortCreateMs);
  return [
    {
      id: '3',
      name: 'inspect 1 GiB ONNX: `node dist/cli/main.js inspect` vs node + onnxruntime-node InferenceSession.create (whole processes)',
      ours: median(cliMs),
      baseline: median(ortMs),
      ratio: cliRatio,
      goal: `<= ${RATIO_GOAL}x, peak RSS < ${fmtMiB(RSS_GOAL)}`,
      met: cliRatio <= RATIO_GOAL && peak < RSS_GOAL,
      extra: `peak RSS ${fmtMiB(peak)} (onnxruntime ${fmtMiB(Math.max(...ortRss))}); \`node -e 0\` alone takes ${median(nodeMs).toFixed(0)} ms (part of both)`,
      samples: { ours: cliMs, baseline: ortMs, oursRssBytes: rss, baselineRssBytes: ortRss },
    },
    {
      id: '3b',
      name: 'inspect 1 GiB ONNX: readOnnxSignatureSync in-process vs InferenceSession.create call alone',
      ours: median(libMs),
      baseline: median(ortCreateMs),
      ratio: libRatio,
      goal: `<= ${RATIO_GOAL}x`,
      met: libRatio <= RATIO_GOAL,
      extra: `harness RSS grew ${fmtMiB(Math.max(0, process.memoryUsage().rss - heapBefore))} over the calls`,
      samples: { ours: libMs, baseline: ortCreateMs },
    },
  ];
}
