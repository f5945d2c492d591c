/**
 * The environment of every process nx-triton starts: the export command and helper, the fidelity
 * gate, trtexec and nvidia-smi, tritonserver (and so its python backend stubs, which run the models'
 * own code). One place, so a secret that only nx-triton itself may read never reaches them.
 */

/** The remote builders' bearer token (the builder client and `nx-triton builder` read it). */
export const TOKEN_ENV = 'NX_TRITON_BUILDER_TOKEN';
/** Origins (scheme://host:port) the client may send the builder token to, besides loopback. */
export const ORIGINS_ENV = 'NX_TRITON_BUILDER_ORIGINS';

/**
 * Variables read by nx-triton's own process only. The token is a CI secret; the origins list says
 * where it may go, so user code must neither read it nor learn where to send a stolen token
 * (issue 22, N4: one export.command line wrote the token into a built model.py).
 */
export const PRIVATE_ENV: readonly string[] = [TOKEN_ENV, ORIGINS_ENV];

/** `base` (default: this process's environment) without PRIVATE_ENV, plus `extra`. Pass it with execa's `extendEnv: false`. */
export function childEnv(extra: NodeJS.ProcessEnv = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !PRIVATE_ENV.includes(key.toUpperCase())) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}
