// Aligned plain-text tables for stdout: what each section prints.

export type Cell = string | number | boolean | null | undefined;

export interface Table {
  title: string;
  headers: string[];
  rows: Cell[][];
  /** Lines printed under the table: what a figure means, what was skipped and why. */
  notes?: string[];
}

/** Numbers with `decimals` decimals, thousands grouped; booleans as yes/NO; the rest as text. */
export function formatCell(cell: Cell, decimals = 0): string {
  if (cell === null || cell === undefined) return "-";
  if (typeof cell === "boolean") return cell ? "yes" : "NO";
  if (typeof cell === "number") {
    if (!Number.isFinite(cell)) return "-";
    return cell.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }
  return cell;
}

/** The most decimals any number in the column has (the sections round before they print), at most 3. */
function columnDecimals(rows: Cell[][], column: number): number {
  let most = 0;
  for (const row of rows) {
    const cell = row[column];
    if (typeof cell !== "number" || !Number.isFinite(cell) || Number.isInteger(cell)) continue;
    const fraction = String(cell).split(".")[1] ?? "";
    most = Math.max(most, Math.min(3, fraction.length));
  }
  return most;
}

export function renderTable(table: Table): string {
  const decimals = table.headers.map((_, column) => columnDecimals(table.rows, column));
  const body = table.rows.map((row) => row.map((cell, column) => formatCell(cell, decimals[column])));
  const widths = table.headers.map((header, column) => Math.max(header.length, ...body.map((row) => (row[column] ?? "").length)));
  // Numbers read best right-aligned; a column is numeric when every filled cell is.
  const numeric = table.headers.map((_, column) =>
    table.rows.every((row) => {
      const cell = row[column];
      return cell === null || cell === undefined || typeof cell === "number";
    }),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  const lines = [
    `== ${table.title}`,
    line(table.headers),
    line(widths.map((width) => "-".repeat(width))),
    ...body.map(line),
    ...(table.notes ?? []).map((note) => `  * ${note}`),
  ];
  return lines.join("\n");
}
