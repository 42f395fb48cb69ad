/**
 * Sorted values as a list with runs compressed: [1,2,3,5] -> "1..3,5" (with
 * `range` ".."; systemd) or "1-3,5" (with "-"; AWS cron). Runs of two stay a list.
 */
export function compressValues(values: readonly number[], fmt: (v: number) => string, range: string): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    parts.push(
      j - i >= 2
        ? `${fmt(values[i])}${range}${fmt(values[j])}`
        : values
            .slice(i, j + 1)
            .map(fmt)
            .join(","),
    );
    i = j + 1;
  }
  return parts.join(",");
}
