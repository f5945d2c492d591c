import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { modelModuleImports } from '../lib/export/python-imports';
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

/**
 * A torch export's summary with the packages its model module imports, for the export's cache key:
 * read on each call (the module may change while triton.yaml does not), once per project and run.
 */
export function withModelImports(summary: SpecSummary, projectDir: string): SpecSummary {
  if (summary.torchModel === undefined) return summary;
  return { ...summary, modelImports: modelModuleImports(projectDir, summary.torchModel) };
}
