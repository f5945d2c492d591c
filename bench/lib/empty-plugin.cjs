// Diagnostic Nx plugin for benchmarks 1 and 2: claims every triton.yaml, reads it, adds nothing.
// Registered beside project.json projects, it shows what any createNodes plugin costs in Nx
// itself (its isolated worker process, the glob, the round trips), apart from nx-triton's own work.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

exports.name = 'bench-empty-plugin';
exports.createNodes = [
  '**/triton.yaml',
  (files, _options, context) =>
    files.map((file) => {
      readFileSync(join(context.workspaceRoot, file), 'utf8');
      return [file, {}];
    }),
];
exports.createNodesV2 = exports.createNodes;
exports.createDependencies = () => [];
