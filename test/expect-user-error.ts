import { expect } from 'vitest';
import { UserError } from '../lib/errors';

/** Awaits `p`, expects it to reject with a UserError, and returns that error's message. */
export async function userErrorMessage(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return (err as Error).message;
}
