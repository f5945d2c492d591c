import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readSpecSummary, type SpecSummary } from '../lib/model-spec/summary';

/**
 * createNodes and createDependencies run in the same plugin worker and both need each triton.yaml's
 * summary: parse each text once (the YAML parse is what costs; reading the text is cheap).
 */
const parsed = new Map<string, { text: string; summary: SpecSummary }>();

/** Lenient on purpose: an unreadable or broken file still gets its `build` target, which reports why. */
export function summaryOf(absoluteFile: string): SpecSummary {
  let text = '';
  try {
    text = readFileSync(absoluteFile, 'utf8');
  } catch {
    // the summary of an empty file is the directory name alone
  }
  const known = parsed.get(absoluteFile);
  if (known && known.text === text) return known.summary;
  const summary = readSpecSummary(text, dirname(absoluteFile));
  parsed.set(absoluteFile, { text, summary });
  return summary;
}
