import { distance } from 'fastest-levenshtein';

/**
 * The known name nearest to a misspelled one, or `undefined` when none is close enough to be a plausible typo
 * (a third of the name's length in edits, at least 2 so that a swap of two letters counts, at most 3).
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(2, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
