import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UserError } from '../errors';
import { s3EndpointUrl, type S3Location } from './location';
import { redactSecrets } from './secrets';
import type { PutOptions, Store, StoredObject } from './store';

// The AWS SDK warns on every Node below 22 that its releases after January 2027 will need 22; the
// release installed here supports Node >= 20 (its package.json engines), as nx-triton does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Loaded with the first S3 destination only: the SDK costs ~100 ms to require, and a local
// destination or any other verb never pays it.
type S3Sdk = typeof import('@aws-sdk/client-s3');
let sdk: S3Sdk | undefined;
function s3sdk(): S3Sdk {
  return (sdk ??= require('@aws-sdk/client-s3') as S3Sdk);
}

/** Multipart from this size (lib-storage sends smaller bodies as one PUT), with parts of at least this size. */
export const PART_SIZE = 16 * 2 ** 20;
/** Parts in flight per file. */
const QUEUE_SIZE = 4;
/** S3 allows 10,000 parts; leave room. */
const MAX_PARTS = 9_000;
/** CopyObject copies up to 5 GiB; larger objects are copied part by part (UploadPartCopy). */
export const COPY_LIMIT = 5 * 2 ** 30;
const COPY_PART_SIZE = 512 * 2 ** 20;

/** The user metadata key nx-triton keeps each object's sha256 under (`x-amz-meta-sha256`). */
const SHA_METADATA = 'sha256';

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'AuthorizationHeaderMalformed',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout']);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
  errors?: unknown[];
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as SdkError;
  for (const c of [e.code, e.name]) if (c && NETWORK_CODES.has(c)) return c;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const c = networkCode(inner, depth + 1);
    if (c) return c;
  }
  return undefined;
}

/**
 * One line for an S3 error, naming the destination and what was being done; never the
 * credentials (redacted from whatever the store answered).
 */
export function describeS3Error(err: unknown, where: string, doing: string): UserError {
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = (e.message ?? String(err)).split('\n')[0];
  let line: string;
  if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    line = `${where}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; the SDK's chain: ${message})`;
  } else if (CREDENTIAL_CODES.has(code) || (status === 403 && !e.Code && doing === 'checking the destination')) {
    line = `${where}: the S3 endpoint refused the credentials (${code}${message && message !== code ? `: ${message}` : ''}); nx-triton takes them from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)`;
  } else if (code === 'AccessDenied' || status === 403) {
    line = `${where}: access denied while ${doing} (${code}: ${message})`;
  } else if (code === 'NoSuchBucket') {
    line = `${where}: the bucket does not exist (create it first)`;
  } else {
    const net = networkCode(err);
    line = net ? `${where}: cannot reach the S3 endpoint while ${doing} (${net})` : `${where}: ${doing} failed: ${code}${status ? ` (HTTP ${status})` : ''}: ${message}`;
  }
  return new UserError(redactSecrets(line));
}

function etagOf(value: string | undefined): string {
  return value ?? '';
}

/** `bucket/key` for CopySource, each segment URL-encoded. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export interface S3StoreOptions {
  allowHttp: boolean;
  /** Tests: smaller copy parts to run UploadPartCopy on small objects. */
  copyLimit?: number;
  copyPartSize?: number;
}

export class S3Store implements Store {
  readonly url: string;
  private readonly bucket: string;
  private readonly endpoint: string | undefined;
  private client?: import('@aws-sdk/client-s3').S3Client;
  private readonly copyLimit: number;
  private readonly copyPartSize: number;

  constructor(
    readonly location: S3Location,
    options: S3StoreOptions,
  ) {
    this.url = location.url;
    this.bucket = location.bucket;
    this.endpoint = s3EndpointUrl(location, options.allowHttp);
    this.copyLimit = options.copyLimit ?? COPY_LIMIT;
    this.copyPartSize = options.copyPartSize ?? COPY_PART_SIZE;
  }

  /**
   * The SDK's client: credentials from AWS's own chain (env, profile, SSO, ...); the region from
   * AWS_REGION, AWS_DEFAULT_REGION (Triton's variable), the profile, else us-east-1 (the C++ SDK's
   * default, which Triton gets); path-style addressing, as Triton's client uses.
   */
  private async s3(): Promise<import('@aws-sdk/client-s3').S3Client> {
    if (this.client) return this.client;
    const { S3Client } = s3sdk();
    let region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
    if (!region) {
      const probe = new S3Client({});
      region = await probe.config.region().catch(() => 'us-east-1');
      probe.destroy();
    }
    this.client = new S3Client({
      region,
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
      forcePathStyle: true,
      // Checksums only where S3 requires them (DeleteObjects): less CPU per part, and the stores
      // that predate the SDK's default CRC32 headers take the requests.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    });
    return this.client;
  }

  private fail(err: unknown, doing: string): UserError {
    return describeS3Error(err, this.url, doing);
  }

  async check(): Promise<void> {
    const { ListObjectsV2Command } = s3sdk();
    try {
      // ListObjectsV2, not HeadBucket: its errors carry S3's code (a HEAD answer has no body).
      await (await this.s3()).send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.location.prefix}/`, MaxKeys: 1 }));
    } catch (err) {
      throw this.fail(err, 'checking the destination');
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const { ListObjectsV2Command } = s3sdk();
    const out: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await (await this.s3()).send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          out.push({ key: o.Key, size: o.Size ?? 0, etag: etagOf(o.ETag), mtimeMs: o.LastModified?.getTime() ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail(err, `listing ${prefix}`);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async sha256Of(key: string): Promise<string | undefined> {
    const { HeadObjectCommand } = s3sdk();
    try {
      const head = await (await this.s3()).send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.Metadata?.[SHA_METADATA];
    } catch (err) {
      if ((err as SdkError).$metadata?.httpStatusCode === 404) return undefined;
      throw this.fail(err, `reading ${key}`);
    }
  }

  async putFile(key: string, file: string, options: PutOptions = {}): Promise<StoredObject> {
    const { Upload } = require('@aws-sdk/lib-storage') as typeof import('@aws-sdk/lib-storage');
    const size = (await stat(file)).size;
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / 2 ** 20) * 2 ** 20);
    const upload = new Upload({
      client: await this.s3(),
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(file, { highWaterMark: 2 ** 20 }),
        ContentLength: size,
        ...(options.sha256 ? { Metadata: { [SHA_METADATA]: options.sha256 } } : {}),
      },
      partSize,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    if (options.onBytes) upload.on('httpUploadProgress', (p) => options.onBytes!(p.loaded ?? 0));
    try {
      const done = await upload.done();
      return { key, size, etag: etagOf(done.ETag), mtimeMs: 0 };
    } catch (err) {
      throw this.fail(err, `uploading ${key}`);
    }
  }

  async putBytes(key: string, bytes: Buffer, options: PutOptions = {}): Promise<StoredObject> {
    const { PutObjectCommand } = s3sdk();
    try {
      const r = await (await this.s3()).send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.length,
          ...(options.sha256 ? { Metadata: { [SHA_METADATA]: options.sha256 } } : {}),
        }),
      );
      options.onBytes?.(bytes.length);
      return { key, size: bytes.length, etag: etagOf(r.ETag), mtimeMs: 0 };
    } catch (err) {
      throw this.fail(err, `writing ${key}`);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const { GetObjectCommand } = s3sdk();
    try {
      const r = await (await this.s3()).send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      const e = err as SdkError;
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw this.fail(err, `reading ${key}`);
    }
  }

  async copy(from: string, to: string): Promise<StoredObject> {
    const sdkm = s3sdk();
    const client = await this.s3();
    try {
      const head = await client.send(new sdkm.HeadObjectCommand({ Bucket: this.bucket, Key: from }));
      const size = head.ContentLength ?? 0;
      if (size <= this.copyLimit) {
        // Onto itself (to make Triton see a new modification time), S3 needs the metadata replaced.
        const self = from === to ? { MetadataDirective: 'REPLACE' as const, Metadata: head.Metadata, ContentType: head.ContentType } : {};
        const r = await client.send(new sdkm.CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: copySource(this.bucket, from), ...self }));
        return { key: to, size, etag: etagOf(r.CopyObjectResult?.ETag), mtimeMs: r.CopyObjectResult?.LastModified?.getTime() ?? 0 };
      }
      // Above CopyObject's limit: a multipart upload of byte ranges copied inside the store.
      const created = await client.send(new sdkm.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to, Metadata: head.Metadata }));
      const uploadId = created.UploadId!;
      try {
        const parts: Array<{ ETag: string; PartNumber: number }> = [];
        for (let start = 0, n = 1; start < size; start += this.copyPartSize, n++) {
          const end = Math.min(size, start + this.copyPartSize) - 1;
          const part = await client.send(
            new sdkm.UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: to,
              UploadId: uploadId,
              PartNumber: n,
              CopySource: copySource(this.bucket, from),
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          parts.push({ ETag: part.CopyPartResult!.ETag!, PartNumber: n });
        }
        const done = await client.send(
          new sdkm.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        );
        return { key: to, size, etag: etagOf(done.ETag), mtimeMs: 0 };
      } catch (err) {
        await client.send(new sdkm.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: uploadId })).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      throw this.fail(err, `copying ${from} to ${to}`);
    }
  }

  async remove(keys: string[]): Promise<void> {
    const { DeleteObjectsCommand } = s3sdk();
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const r = await (await this.s3()).send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0) throw Object.assign(new Error(`${failed[0].Key}: ${failed[0].Message}`), { Code: failed[0].Code });
      } catch (err) {
        throw this.fail(err, `deleting ${batch[0]}${batch.length > 1 ? ` and ${batch.length - 1} more` : ''}`);
      }
    }
  }

  async abortIncompleteUploads(prefix: string): Promise<number> {
    const sdkm = s3sdk();
    const client = await this.s3();
    let aborted = 0;
    try {
      let keyMarker: string | undefined;
      let idMarker: string | undefined;
      do {
        const page = await client.send(new sdkm.ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: idMarker }));
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId) continue;
          await client.send(new sdkm.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
          aborted++;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      throw this.fail(err, `aborting unfinished uploads under ${prefix}`);
    }
    return aborted;
  }

  destroy(): void {
    this.client?.destroy();
  }
}
