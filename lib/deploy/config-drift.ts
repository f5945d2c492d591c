/**
 * Where a served config (Triton's `GET /v2/models/<m>/config`, its ModelConfig as JSON with its
 * defaults filled in) differs from a config.pbtxt: every field the file sets must come back with
 * the same value. Scalars compare as text (Triton spells 64-bit integers as strings); fields the
 * file leaves out are Triton's to fill. The same reading as the oracle's in test/triton-oracle.ts.
 */
export function configDrift(ours: unknown, theirs: unknown, path = ''): string[] {
  if (Array.isArray(ours)) {
    if (!Array.isArray(theirs)) return [`${path || '.'}: served ${JSON.stringify(theirs)}, deployed a list of ${ours.length}`];
    if (theirs.length !== ours.length) return [`${path}: served ${theirs.length} item(s), deployed ${ours.length}`];
    return ours.flatMap((o, i) => configDrift(o, theirs[i], `${path}[${i}]`));
  }
  if (ours && typeof ours === 'object') {
    if (!theirs || typeof theirs !== 'object' || Array.isArray(theirs)) return [`${path || '.'}: served ${JSON.stringify(theirs)}`];
    const t = theirs as Record<string, unknown>;
    return Object.entries(ours as Record<string, unknown>).flatMap(([k, v]) => configDrift(v, t[k], path ? `${path}.${k}` : k));
  }
  if (theirs === undefined || String(theirs) !== String(ours)) return [`${path}: served ${JSON.stringify(theirs)}, deployed ${JSON.stringify(ours)}`];
  return [];
}
