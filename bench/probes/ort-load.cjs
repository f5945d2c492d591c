// Baseline of benchmark 3: onnxruntime-node loading a model. Prints {"createMs": ...} (the
// InferenceSession.create call alone); the harness times the whole process.
'use strict';
const ort = require('onnxruntime-node');

const file = process.argv[2];
const started = performance.now();
ort.InferenceSession.create(file).then(
  async (session) => {
    const createMs = performance.now() - started;
    process.stdout.write(`${JSON.stringify({ createMs, inputs: session.inputNames })}\n`);
    await session.release();
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
