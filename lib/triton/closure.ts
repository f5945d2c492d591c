import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigFileError, readRegularFile } from '../../proto/read-regular-file';
import { parsePbtxt } from '../../proto/text-format';
import { UserError } from '../errors';
import { checkModelName } from '../model-spec/model-name';

/** Whether `path` is a directory, a symbolic link to one included: Triton stats the repository's entries and follows links. */
function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** config.pbtxt's text: a regular UTF-8 file of bounded size (a FIFO would block the read, a device never end), else one line naming it. */
function readConfigText(file: string, model: string): string | undefined {
  try {
    return readRegularFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof ConfigFileError) throw new UserError(`nx-triton: model ${model}: ${file}: ${err.message}`);
    throw new UserError(`nx-triton: model ${model}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * The models Triton must load to serve `roots`: each root, and for an ensemble every model its
 * steps name (`ensemble_scheduling.step[].model_name`), transitively, read from the built
 * `config.pbtxt` files. In the order they are first met, each once.
 */
export function modelsNeeded(repository: string, roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string, neededBy?: string): void => {
    if (seen.has(name)) return;
    const bad = checkModelName(name);
    if (bad) throw new UserError(`nx-triton: model name ${JSON.stringify(name)}${neededBy ? ` (a step of ${neededBy})` : ''}: ${bad}`);
    const dir = join(repository, name);
    const file = join(dir, 'config.pbtxt');
    const text = isDirectory(dir) ? readConfigText(file, name) : undefined;
    if (text === undefined) {
      const why = neededBy ? `, which the ensemble ${neededBy} needs,` : '';
      throw new UserError(`nx-triton: model ${name}${why} is not in the repository ${repository} (no ${file}; build it first)`);
    }
    seen.add(name);
    const config = parsePbtxt(text, file);
    const steps = config.ensemble_scheduling?.step ?? [];
    for (const step of steps) if (step.model_name) visit(step.model_name, name);
  };
  for (const root of roots) visit(root);
  return [...seen];
}
