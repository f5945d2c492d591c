import { modelsNeeded } from '../triton/closure';
import { serveUntilStopped, type ServeIo, type ServeOptions } from '../triton/serve';

export interface ServeTargetOptions extends Omit<ServeOptions, 'models'> {
  /** The models to serve with what their ensembles need; none or empty: every model of the repository. */
  models?: string[];
}

/**
 * The `serve` target and `nx-triton serve`: tritonserver on the repository with the models asked for
 * (and, for an ensemble, every model its steps name, read from the built config.pbtxt files) loaded,
 * until SIGINT/SIGTERM.
 */
export async function runServe(o: ServeTargetOptions, io: ServeIo): Promise<void> {
  const models = o.models?.length ? modelsNeeded(o.repository, o.models) : '*';
  await serveUntilStopped({ ...o, models }, io);
}
