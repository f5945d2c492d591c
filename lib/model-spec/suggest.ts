/** "Did you mean" for a misspelt key or value. */

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = cur;
  }
  return prev[b.length];
}

/** camelCase, kebab-case and case differences do not count: maxBatchSize ~ max_batch_size. */
function squash(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

/** The candidate closest to `word`, or undefined when none is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 200) return undefined;
  const squashed = squash(word);
  const same = candidates.find((c) => squash(c) === squashed);
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(squashed, squash(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.floor(squashed.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** ` (did you mean "x"?)` or the empty string. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const hit = closest(word, candidates);
  return hit === undefined ? '' : ` (did you mean "${hit}"?)`;
}

/** The message for a key that is not one of `known`. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  return `unknown key ${JSON.stringify(key)}${didYouMean(key, known)}`;
}
