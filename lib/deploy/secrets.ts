import { UserError } from '../errors';

/**
 * Credentials are never printed. nx-triton never reads them itself (the AWS SDK's chain does), but
 * a store's error text could echo them: every line we print about a destination passes here.
 */
const SECRET_ENV = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECURITY_TOKEN'];

/** Runs `work`; a UserError it ends with is thrown again with its message redacted (a store's answer could echo a credential). */
export async function redactingErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UserError) throw new UserError(redactSecrets(err.message));
    throw err;
  }
}

export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const name of SECRET_ENV) {
    const value = env[name];
    // Short values would match ordinary words; AWS's shortest key id has 16 characters.
    if (value && value.length >= 8) out = out.split(value).join(`<${name}>`);
  }
  return out;
}
