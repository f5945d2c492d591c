import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';
import { checkModelName } from '../model-spec/model-name';
import { parsePbtxt } from '../../proto/text-format';
import { ConfigFileError, readRegularFile } from '../../proto/read-regular-file';

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
    if (!existsSync(dir) || !lstatSync(dir).isDirectory() || !existsSync(file)) {
      const why = neededBy ? `, which the ensemble ${neededBy} needs,` : '';
      throw new UserError(`nx-triton: model ${name}${why} is not in the repository ${repository} (no ${file}; build it first)`);
    }
    seen.add(name);
    let text: string;
    try {
      text = readRegularFile(file);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new UserError(`nx-triton: ${file}: ${err.message}`);
      throw err;
    }
    const config = parsePbtxt(text, file);
    const steps = config.ensemble_scheduling?.step ?? [];
    for (const step of steps) if (step.model_name) visit(step.model_name, name);
  };
  for (const root of roots) visit(root);
  return [...seen];
}
