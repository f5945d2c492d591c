import { basename } from 'node:path';
import { LocalStore } from './local';
import { parseLocation, tritonS3SegmentProblem, type Location } from './location';
import { S3Store } from './s3';
import type { Store } from './store';

/** A deploy destination: the store, the repository's prefix in it, and the names Triton can read from it. */
export interface Destination {
  location: Location;
  store: Store;
  /** Key prefix of the repository (its objects are `<base>/<model>/...`). */
  base: string;
  segmentProblem?: (segment: string) => string | undefined;
  close(): void;
}

export function openDestination(text: string, options: { allowHttp?: boolean; cwd?: string } = {}): Destination {
  const location = parseLocation(text, options.cwd);
  if (location.kind === 's3') {
    const store = new S3Store(location, { allowHttp: options.allowHttp ?? false });
    return {
      location,
      store,
      base: location.prefix,
      // Only a custom endpoint's paths go through Triton's S3 expression (location.ts).
      ...(location.endpoint ? { segmentProblem: tritonS3SegmentProblem } : {}),
      close: () => store.destroy(),
    };
  }
  return { location, store: new LocalStore(location), base: basename(location.dir), close: () => undefined };
}
