import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { ONNX_FILE } from '../layout';
import { externalDataProblem, uniqueExternalData } from '../onnx/external-data';
import { isInside } from './paths';
import { readOnnxSignature } from '../onnx';
import type { ModelSpec } from '../model-spec/types';
import { exportError } from './where';

/** A file that must travel with the model file: `src` absolute, `dest` absolute in the export. */
export interface Companion {
  src: string;
  dest: string;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/**
 * Checks every external-data file of the ONNX model `onnxFile`: its location can be used, and it is a
 * file inside `root` (the project for export.file, the export's own directory for what an export
 * wrote) with every component of its path resolved, so a linked parent directory cannot bring a file
 * in from outside (issue 22, N2). Throws a UserError at `key` naming the first one that fails.
 */
export async function checkExternalData(spec: ModelSpec, key: string, onnxFile: string, locations: string[], shown: string, root: { dir: string; what: string }): Promise<string[]> {
  const unique = uniqueExternalData(locations);
  const realRoot = await realpath(root.dir);
  for (const location of unique) {
    const why = externalDataProblem(location);
    if (why) throw exportError(spec, key, `${shown} names external data ${JSON.stringify(location)}, which cannot be used: ${why}`);
    const real = await realpath(join(dirname(onnxFile), location)).catch(() => undefined);
    if (real === undefined || !(await isFile(real))) {
      throw exportError(spec, key, `${shown} names external data ${JSON.stringify(location)}, which does not exist beside it`);
    }
    if (!isInside(realRoot, real)) {
      throw exportError(spec, key, `${shown} names external data ${JSON.stringify(location)}, which leads through a symbolic link to ${real}, outside ${root.what}`);
    }
  }
  return unique;
}

/**
 * Files `export.file` needs besides the one it names: the external data of an ONNX model, and the
 * weights (`<name>.bin`) of an OpenVINO IR `<name>.xml`, renamed to match the model file's name.
 */
export async function companionFiles(spec: ModelSpec, source: string, output: string): Promise<Companion[]> {
  const shown = JSON.stringify(relative(spec.dir, source));
  if (source.endsWith('.onnx') && output.endsWith('.onnx')) {
    let locations: string[];
    try {
      locations = (await readOnnxSignature(source)).externalData;
    } catch {
      return []; // the check of the export reports an unreadable model
    }
    // Triton's directory form (`model.onnx/` holding model.onnx and its data) travels whole.
    const directoryForm = (await stat(source)).isDirectory();
    const unique = await checkExternalData(spec, 'export.file', directoryForm ? join(source, ONNX_FILE) : source, locations, shown, { dir: spec.dir, what: 'the project directory' });
    if (directoryForm) return [];
    return unique.map((loc) => ({ src: join(dirname(source), loc), dest: join(dirname(output), loc) }));
  }
  const openvino = spec.config.backend === 'openvino';
  if (openvino && extname(source) === '.xml' && extname(output) === '.xml') {
    const weights = join(dirname(source), `${basename(source, '.xml')}.bin`);
    if (!(await isFile(weights))) {
      throw exportError(spec, 'export.file', `${shown} needs its weights ${JSON.stringify(relative(spec.dir, weights))} beside it (OpenVINO reads <name>.bin next to <name>.xml)`);
    }
    return [{ src: weights, dest: join(dirname(output), `${basename(output, '.xml')}.bin`) }];
  }
  return [];
}
