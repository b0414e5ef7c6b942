/**
 * Reading what `nettrace --diag` printed: its blocks (a packet's, headed by
 * its skb addresses, or a socket's, headed by "sock" and its address), each
 * with its event lines and its ANALYSIS RESULT (empty when none).
 */

/** One block as --diag printed it. */
export interface DiagBlock {
  kind: "packet" | "sock";
  lines: string[];
  analysis: string;
}

/** The blocks of an output, in order. */
export function diagBlocks(stdout: string): DiagBlock[] {
  const out: DiagBlock[] = [];
  let cur: DiagBlock | undefined;
  let inAnalysis = false;
  for (const line of stdout.split("\n")) {
    const header = line.match(/^\*{5,} (sock )?[0-9a-f,]+ \*{5,}$/);
    if (header) {
      cur = { kind: header[1] ? "sock" : "packet", lines: [], analysis: "" };
      out.push(cur);
      inAnalysis = false;
    } else if (!cur) continue;
    else if (line.startsWith("---------------- ANALYSIS RESULT")) inAnalysis = true;
    else if (inAnalysis) cur.analysis += line + "\n";
    else if (line.startsWith("[")) cur.lines.push(line);
  }
  return out;
}
