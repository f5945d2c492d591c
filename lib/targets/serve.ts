import { parseLocation } from '../deploy/location';
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
  if (o.repository.startsWith('s3://')) {
    // A bucket (Triton's own s3:// form, checked here for a clear error): Triton reads the configs
    // itself, and loading an ensemble loads the models its steps name (measured with the bundled
    // Triton 2.51: --load-model=<ensemble> leaves its members READY too).
    parseLocation(o.repository);
    await serveUntilStopped({ ...o, models: o.models?.length ? o.models : '*' }, io);
    return;
  }
  const models = o.models?.length ? modelsNeeded(o.repository, o.models) : '*';
  await serveUntilStopped({ ...o, models }, io);
}
