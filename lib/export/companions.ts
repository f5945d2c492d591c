import { stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, posix, relative } from 'node:path';
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

/** Why an ONNX external-data `location` cannot be used, or undefined. */
export function badExternalLocation(location: string): string | undefined {
  if (location === '' || location.includes('\0')) return 'it is empty or contains a NUL character';
  if (isAbsolute(location) || /^[A-Za-z]:/.test(location)) return 'it is an absolute path';
  const normal = posix.normalize(location.replace(/\\/g, '/'));
  if (normal === '..' || normal.startsWith('../')) return 'it leads outside the directory of the ONNX file';
  return undefined;
}

/**
 * Checks that every external-data file of the ONNX model `onnxFile` exists beside it, inside its
 * directory; throws a UserError at `key` naming the first one that does not.
 */
export async function checkExternalData(spec: ModelSpec, key: string, onnxFile: string, locations: string[], shown: string): Promise<void> {
  for (const location of locations) {
    const why = badExternalLocation(location);
    if (why) throw exportError(spec, key, `${shown} names external data ${JSON.stringify(location)}, which cannot be used: ${why}`);
    if (!(await isFile(join(dirname(onnxFile), location)))) {
      throw exportError(spec, key, `${shown} names external data ${JSON.stringify(location)}, which does not exist beside it`);
    }
  }
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
    await checkExternalData(spec, 'export.file', directoryForm ? join(source, 'model.onnx') : source, locations, shown);
    if (directoryForm) return [];
    return locations.map((loc) => ({ src: join(dirname(source), loc), dest: join(dirname(output), loc) }));
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
