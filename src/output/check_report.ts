/**
 * nettrace --check's report as text: one line per capability. Pure.
 * @module
 */
import type { Capability, CapabilityReport } from "../kernel/capability_report.ts";

/** The report as text: one line per capability, then the extra rows. */
export function formatCapabilityReport(r: CapabilityReport, extra: Capability[] = []): string {
  const rows = [r.btf, r.tracefs, ...Object.values(r.attach), r.ringBuffer, r.attachCookie, r.dropReasons, ...extra];
  const lines = rows.map((c) => `  ${c.name.padEnd(15)} ${(c.available ? "yes" : "no").padEnd(4)} ${c.detail}`);
  return [`kernel ${r.kernelRelease}`, ...lines, ""].join("\n");
}
