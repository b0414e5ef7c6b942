/**
 * The ANALYSIS RESULT block --diag prints after a packet with findings,
 * shaped as the C nettrace prints it:
 *
 *     ---------------- ANALYSIS RESULT ---------------------
 *     [1] ERROR happens in kfree_skb(life):
 *             packet is dropped by kernel
 *         location:
 *             tcp_v4_rcv+0x4a
 *         drop reason:
 *             NO_SOCKET: ...
 *         fix advice:
 *             check ...
 *
 *     analysis finished!
 * @module
 */
import type { FindingReport } from "../diag/finding_report.ts";

const HEADER = "---------------- ANALYSIS RESULT ---------------------";
const LEVEL_WORD = { INFO: "INFO", WARN: "WARNING", ERROR: "ERROR" } as const;

/** The block for one packet's findings; notes: lines said after them (checks not possible here). */
export function formatAnalysis(reports: readonly FindingReport[], notes: readonly string[] = []): string {
  const out = [HEADER];
  reports.forEach((r, i) => {
    const f = r.finding;
    out.push(`[${i + 1}] ${LEVEL_WORD[f.level]} happens in ${f.point}(${f.group}):`);
    out.push(`\t${f.message}`);
    if (r.hooks?.length) out.push("", "    following hook functions are blamed:", ...r.hooks.map((h) => `\t${h}`), "");
    if (r.location) out.push("    location:", `\t${r.location}`);
    if (r.reason) out.push("    drop reason:", `\t${r.reason.name}${r.reason.meaning ? `: ${r.reason.meaning}` : ""}`);
    if (r.resetReason) out.push("    reset reason:", `\t${r.resetReason}`);
    if (r.advice) out.push("    fix advice:", `\t${r.advice}`);
    out.push("");
  });
  for (const n of notes) out.push(n);
  if (notes.length) out.push("");
  out.push("analysis finished!", "");
  return out.join("\n");
}

/** The messages of an event's findings as they follow its line: ` *message*` each. */
export function findingMarks(messages: readonly string[] | undefined): string {
  return messages ? messages.map((m) => ` *${m}*`).join("") : "";
}
