/**
 * Sorting a scraped label set by name, shared by the text, OpenMetrics and
 * protobuf parsers when they build `Labels` (on scrape-cache misses).
 *
 * @module
 */

/**
 * Indices of `names` in ascending name order; equal names keep their input
 * order, so a caller finds duplicates side by side. Small sets (the normal
 * case) use an insertion sort; a large one — a hostile body may send
 * thousands of labels — a comparison sort, so the cost is never quadratic.
 */
export function sortedOrder(names: readonly string[]): number[] {
  const k = names.length;
  const idx = new Array<number>(k);
  if (k > 16) {
    for (let i = 0; i < k; i++) idx[i] = i;
    idx.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
    return idx;
  }
  for (let i = 0; i < k; i++) {
    const nm = names[i];
    let j = i;
    while (j > 0 && names[idx[j - 1]] > nm) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  return idx;
}
