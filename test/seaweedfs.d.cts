import type { S3Client } from '@aws-sdk/client-s3';

export interface SeaweedFs {
  endpoint: string;
  port: number;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_EC2_METADATA_DISABLED. */
  env: Record<string, string>;
  /** A client with the store's credentials (for the tests' own looks at the bucket). */
  client: S3Client;
  url(prefix: string): string;
  /** Every object under `prefix`: key -> `<etag> <last modified>` (what a write changes). */
  objects(prefix: string): Promise<Record<string, string>>;
  /** An object's bytes, or undefined when there is none. */
  read(key: string): Promise<Buffer | undefined>;
  log(): string;
  stop(): Promise<void>;
}

export function startSeaweedFs(options?: { bucket?: string; accessKey?: string; secretKey?: string; log?: (line: string) => void }): Promise<SeaweedFs>;
export const WEED: string;
