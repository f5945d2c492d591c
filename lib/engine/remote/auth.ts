import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../../errors';

import { ORIGINS_ENV, TOKEN_ENV } from '../../system/child-env';

export { ORIGINS_ENV, TOKEN_ENV };
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

/** `1`: allow plain http:// to a listed origin beyond loopback (the token then crosses the network unencrypted). */
export const ALLOW_HTTP_ENV = 'NX_TRITON_BUILDER_ALLOW_HTTP';

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why the builder token must not go to `url`, or undefined when it may. A URL in `tensorrt.builders`
 * comes from a triton.yaml anyone with a pull request can edit: the token (a CI secret) goes only to
 * loopback or to an origin listed in NX_TRITON_BUILDER_ORIGINS (env, not the spec), and over plain
 * http beyond loopback only with NX_TRITON_BUILDER_ALLOW_HTTP=1.
 */
export function tokenRefusal(url: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (isLoopback(u.hostname)) return undefined;
  const listed = (env[ORIGINS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      try {
        return new URL(s).origin;
      } catch {
        return s;
      }
    });
  if (!listed.includes(u.origin)) {
    return `the builder token goes only to loopback and to the origins in ${ORIGINS_ENV} (env, never triton.yaml); ${u.origin} is not listed`;
  }
  if (u.protocol === 'http:' && env[ALLOW_HTTP_ENV] !== '1') {
    return `plain http:// beyond loopback would send the builder token unencrypted: use https:// (a TLS proxy in front of the builder) or set ${ALLOW_HTTP_ENV}=1`;
  }
  return undefined;
}
