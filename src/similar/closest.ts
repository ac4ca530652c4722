/**
 * The names nearest to what was typed, for the one line that answers an unknown gene. Pure and
 * small: edit distance on upper case (yeast names are upper case, people type them in any case),
 * a name that starts with what was typed counted as near as a single edit.
 */
export function closestNames(typed: string, names: Iterable<string>, limit = 3): string[] {
  const want = typed.toUpperCase();
  const scored: { name: string; d: number }[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const upper = name.toUpperCase();
    const d = upper.startsWith(want) || want.startsWith(upper) ? Math.min(1, distance(want, upper)) : distance(want, upper);
    scored.push({ name, d });
  }
  scored.sort((a, b) => a.d - b.d || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A name as far as retyping all of it is no suggestion.
  return scored.filter((s) => s.d < Math.max(want.length, 2)).slice(0, limit).map((s) => s.name);
}

/** Levenshtein distance, two rows at a time. */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let row = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, row] = [row, prev];
  }
  return prev[b.length]!;
}
