/** Prints a header line, then one line per row, each cell right-aligned to its column's width. */
export function printTable(header: string, widths: number[], rows: Array<Array<string | number>>): void {
  console.log(header);
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padStart(widths[i] ?? 0)).join(" "));
}
