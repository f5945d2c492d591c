// Rebuilds one model entry over and over, alternating between workspaces whose triton.yaml and
// model file differ, until it is killed. Uses the built package.
// argv: <dist> <json {workspaces: string[], repository: string, start: number, count?: number}>
'use strict';
const { join } = require('node:path');
const [dist, json] = process.argv.slice(2);
const { buildModel } = require(join(dist, 'lib/targets/build.js'));
const { workspaces, repository, start, count } = JSON.parse(json);

(async () => {
  process.stdout.write('ready\n');
  for (let i = start; count === undefined || i < start + count; i++) {
    const ws = workspaces[i % workspaces.length];
    try {
      await buildModel({ workspaceRoot: ws, specFile: 'models/victim/triton.yaml', repository, resolveSpecFile: () => undefined });
    } catch (err) {
      process.stdout.write(`error: ${err && err.name}: ${err && err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`built ${i}\n`);
  }
})();
