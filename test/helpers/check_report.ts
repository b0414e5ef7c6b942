/** Reading the text of `nettrace --check` back into rows (pure). */

/** One row of the report. */
export interface CapabilityRow {
  available: boolean;
  detail: string;
}

/** Parses the text of `nettrace --check` into rows by name. */
export function parseCheckReport(report: string): Map<string, CapabilityRow> {
  const rows = new Map<string, CapabilityRow>();
  for (const line of report.split("\n")) {
    const m = line.match(/^ {2}(\S+(?: \S+)?)\s{2,}(yes|no)\s+(.*)$/);
    if (m) rows.set(m[1], { available: m[2] === "yes", detail: m[3] });
  }
  return rows;
}
