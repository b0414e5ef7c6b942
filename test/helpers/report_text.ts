/** A --diag report as the text sink prints it, for tests that read the text. */
import type { PacketReport } from "../../src/diag/packet_report.ts";
import { findingMarks, formatAnalysis } from "../../src/output/analysis_result.ts";

/** Per event, the marks its line gets (` *message*`). */
export function marksOf(r: PacketReport): string[] {
  return r.messages.map((m) => findingMarks(m));
}

/** The ANALYSIS RESULT block, when the report has one. */
export function analysisOf(r: PacketReport): string | undefined {
  return r.abnormal ? formatAnalysis(r.findings, r.notes) : undefined;
}
