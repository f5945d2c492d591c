import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../errors';

export const TOKEN_ENV = 'NX_TRITON_BUILDER_TOKEN';
const MIN_TOKEN_CHARS = 16;

/** The builder's token: `--token-file` (first line), else env NX_TRITON_BUILDER_TOKEN; undefined when neither is set. */
export function loadServerToken(o: { tokenFile?: string; env?: NodeJS.ProcessEnv }): string | undefined {
  let token: string | undefined;
  if (o.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.tokenFile, 'utf8');
    } catch (err) {
      throw new UserError(`--token-file ${o.tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    token = text.split(/\r?\n/)[0].trim();
    if (token === '') throw new UserError(`--token-file ${o.tokenFile}: the file is empty`);
  } else {
    token = (o.env ?? process.env)[TOKEN_ENV]?.trim() || undefined;
  }
  // A bearer token is one word (RFC 6750 b64token): one with spaces inside could never match a request.
  if (token !== undefined && /[\s\u0000-\u001f\u007f]/.test(token)) {
    throw new UserError(`the builder token contains spaces or control characters; a bearer token is one word (e.g. openssl rand -hex 32)`);
  }
  if (token !== undefined && token.length < MIN_TOKEN_CHARS) {
    throw new UserError(`the builder token is too short (${token.length} characters; use at least ${MIN_TOKEN_CHARS}, e.g. openssl rand -hex 32)`);
  }
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Whether an Authorization header carries `Bearer <token>`; compares equal-length digests in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m ? m[1] : ''), digest(token)) && m !== null;
}
