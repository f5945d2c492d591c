import { describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { isLoopbackHost, parseLocation, s3EndpointUrl, serverUrl, type S3Location } from './location';

// Triton's own spelling of a repository (core src/filesystem/implementations/s3.h, r24.10) and the
// transport rule: TLS beyond loopback unless the environment says allowHttp.

describe('parseLocation', () => {
  it("reads Triton's custom-endpoint form: HTTP unless https:// is written, extra slashes dropped", () => {
    expect(parseLocation('s3://127.0.0.1:9000/models/prod')).toEqual({
      kind: 's3',
      url: 's3://127.0.0.1:9000/models/prod',
      endpoint: { scheme: 'http', host: '127.0.0.1', port: 9000 },
      bucket: 'models',
      prefix: 'prod',
    });
    expect(parseLocation('s3://https://minio.example.com:443//models/a/b/')).toMatchObject({
      url: 's3://https://minio.example.com:443/models/a/b',
      endpoint: { scheme: 'https', host: 'minio.example.com', port: 443 },
      prefix: 'a/b',
    });
  });

  it("reads AWS's form (no host:port): the bucket on AWS's endpoint", () => {
    expect(parseLocation('s3://acme-models/prod/v1')).toEqual({ kind: 's3', url: 's3://acme-models/prod/v1', bucket: 'acme-models', prefix: 'prod/v1' });
  });

  it('takes anything else as a directory, relative to cwd', () => {
    expect(parseLocation('deployed/models', '/work/ws')).toEqual({ kind: 'local', dir: '/work/ws/deployed/models', url: '/work/ws/deployed/models' });
    expect(parseLocation('/srv/triton/models')).toMatchObject({ kind: 'local', dir: '/srv/triton/models' });
  });

  it.each([
    ['s3://127.0.0.1:9000/models', "s3://127.0.0.1:9000/models: name a prefix inside the bucket (s3://…/models/<prefix>): nx-triton keeps its state beside the repository, outside what Triton reads"],
    ['s3://127.0.0.1:9000/Models/prod', 's3://127.0.0.1:9000/Models/prod: bucket "Models": Triton takes bucket names of 0-9 a-z . - only'],
    ['s3://127.0.0.1:9000/models/prod+1', 's3://127.0.0.1:9000/models/prod+1: Triton reads S3 object paths of the characters 0-9 a-z A-Z . - _ only (core\'s s3.h), and "prod+1" has others'],
    ['s3://minio:port/models/prod', "s3://minio:port/models/prod: the endpoint must be host:port with a numeric port (Triton's form s3://host:port/bucket/prefix)"],
    ['s3://https://models/prod', "s3://https://models/prod: https:// needs a host and a port after it, as Triton reads it: s3://https://host:port/bucket/prefix"],
    ['gs://bucket/prefix', 'gs://bucket/prefix: nx-triton deploys to S3-compatible stores (s3://) and directories; gs:// is not supported (see the README, "Deploy")'],
    ['https://bucket/prefix', 'https://bucket/prefix: not a repository nx-triton deploys to: give s3://host:port/bucket/prefix, s3://bucket/prefix (AWS) or a directory'],
    ['/', '/: the repository cannot be the root directory (nx-triton keeps its state beside it)'],
  ])('refuses %s with one line', (text, message) => {
    expect(() => parseLocation(text)).toThrow(new UserError(message));
  });
});

describe('the transport rule', () => {
  it('knows loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['10.0.0.1', 'minio.internal', '128.0.0.1', '::2', 'localhost.example.com']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('lets plain HTTP reach loopback, and beyond it only with allowHttp', () => {
    const at = (url: string) => parseLocation(url) as S3Location;
    expect(s3EndpointUrl(at('s3://127.0.0.1:9000/m/p'), false)).toBe('http://127.0.0.1:9000');
    expect(s3EndpointUrl(at('s3://https://s3.example.com:443/m/p'), false)).toBe('https://s3.example.com:443');
    expect(s3EndpointUrl(at('s3://acme/p'), false)).toBeUndefined();
    expect(() => s3EndpointUrl(at('s3://10.0.0.5:9000/m/p'), false)).toThrow(/plain HTTP to 10\.0\.0\.5:9000/);
    expect(s3EndpointUrl(at('s3://10.0.0.5:9000/m/p'), true)).toBe('http://10.0.0.5:9000');
    expect(serverUrl('http://127.0.0.1:8000/', false)).toBe('http://127.0.0.1:8000');
    expect(serverUrl('https://triton-0:8000/gw/triton/', false)).toBe('https://triton-0:8000/gw/triton');
    expect(() => serverUrl('http://triton-staging:8000', false)).toThrow(
      new UserError('server http://triton-staging:8000: plain HTTP beyond loopback; use https://, or set allowHttp: true in the environment (--allow-http)'),
    );
    expect(serverUrl('http://triton-staging:8000', true)).toBe('http://triton-staging:8000');
  });

  it('refuses server URLs that are not Triton HTTP endpoints, and never echoes a password', () => {
    expect(() => serverUrl('triton:8000', false)).toThrow(/expected an http:\/\/ or https:\/\/ URL/);
    expect(() => serverUrl('not a url', false)).toThrow('server "not a url" is not a URL (expected http(s)://host:port)');
    const err = (() => {
      try {
        serverUrl('https://user:hunter2secret@triton:8000', false);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).toBe('server https://triton:8000/: credentials in a server URL are not supported');
  });
});
