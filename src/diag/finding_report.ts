/**
 * What --diag found in one packet or socket block, as data: each finding
 * with what its event adds. Rendered by src/output/analysis_result.ts.
 * @module
 */
import type { Finding } from "./diagnoser.ts";

/** A finding with what the event adds to it. */
export interface FindingReport {
  finding: Finding;
  /** where a dropped skb was freed (func+0xoff) */
  location?: string;
  /** the drop reason and what it means */
  reason?: { name: string; meaning?: string };
  /** the rule's advice, else the reason's */
  advice?: string;
  /** --hooks: the hook functions registered on the netfilter hook */
  hooks?: string[];
  /** the reason a socket gave for the reset it sent (kernels 6.10 and later) */
  resetReason?: string;
}
