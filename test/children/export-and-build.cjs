// Runs export then build of one model in this process, from the built package, and prints the
// peak RSS growth (bytes) as JSON.
// argv: <dist> <workspace root> <model name>
'use strict';
const { join } = require('node:path');
const [dist, root, name] = process.argv.slice(2);
const { loadSpec } = require(join(dist, 'lib/model-spec'));
const { runExport } = require(join(dist, 'lib/targets/export'));
const { buildModel } = require(join(dist, 'lib/targets/build'));

async function main() {
  const specFile = join(root, 'models', name, 'triton.yaml');
  const spec = loadSpec(specFile, { displayPath: `models/${name}/triton.yaml` });
  const before = process.memoryUsage().rss;
  await runExport({ spec, workspaceRoot: root, python: '/usr/bin/python3' });
  await buildModel({ workspaceRoot: root, specFile, repository: 'dist/model-repository', resolveSpecFile: () => undefined });
  // maxRSS is in KiB.
  process.stdout.write(JSON.stringify({ before, peak: process.resourceUsage().maxRSS * 1024 }) + '\n');
}
main().catch((err) => {
  process.stderr.write(`${err && err.message}\n`);
  process.exit(1);
});
