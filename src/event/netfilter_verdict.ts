/**
 * What a netfilter function's return value means, as the kernel means it.
 * nf_hook_slow returns 1 (accepted), 0 (stolen or queued) or a negative
 * errno (dropped). The table walkers (ipt_do_table and kin, nft_do_chain_*)
 * return a verdict in the low byte (NF_VERDICT_MASK): NF_DROP 0, NF_ACCEPT 1,
 * NF_STOLEN 2, NF_QUEUE 3. A walker that drops through NF_DROP_REASON frees
 * the skb itself with a drop reason and returns NF_STOLEN with an errno in
 * the upper 16 bits (Debian's 6.1.0-57 does so in nft_do_chain): that is a
 * drop, and so is an NF_STOLEN whose skb was freed with a drop reason while
 * the walker ran. Pure.
 * @module
 */
import type { KernelEvent } from "./decode.ts";

/** Netfilter verdicts, as rules and lines name them. */
export type Verdict = "accept" | "drop" | "stolen" | "queue";

/** The verdict names rules may use. */
export const VERDICTS: ReadonlySet<string> = new Set<Verdict>(["accept", "drop", "stolen", "queue"]);

const HOOK_STYLE = new Set(["nf_hook_slow"]);
const TABLE_STYLE = /^(ipt_do_table|ip6t_do_table|arpt_do_table|ebt_do_table|nft_do_chain.*)$/;
const NF_DROP = 0n, NF_ACCEPT = 1n, NF_STOLEN = 2n, NF_QUEUE = 3n;

/** Whether the point walks a netfilter table and returns its verdict. */
export function isTableWalker(point: string): boolean {
  return TABLE_STYLE.test(point);
}

/**
 * The netfilter verdict a point's return value means, if the point returns
 * one. freedInside: the skb was freed with a drop reason between the
 * function's entry and its return.
 */
export function verdictOf(point: string, ret: bigint | undefined, freedInside = false): Verdict | undefined {
  if (ret === undefined) return undefined;
  const v = BigInt.asIntN(32, ret);
  if (HOOK_STYLE.has(point)) return v === 1n ? "accept" : v < 0n ? "drop" : "stolen";
  if (!TABLE_STYLE.test(point)) return undefined;
  const code = BigInt.asUintN(32, ret) & 0xffn;
  const errno = BigInt.asUintN(32, ret) >> 16n;
  switch (code) {
    case NF_DROP:
      return "drop";
    case NF_ACCEPT:
      return "accept";
    case NF_STOLEN:
      return errno !== 0n || freedInside ? "drop" : "stolen";
    case NF_QUEUE:
      return "queue";
    default:
      return "stolen";
  }
}

/**
 * The verdict of each event of one packet's block (undefined where the
 * point gives none). droppedBy: whether an event is a free with a drop
 * reason; a table walker's NF_STOLEN is a drop when such a free of the same
 * skb lies between its entry and its return.
 */
export function blockVerdicts(
  events: readonly KernelEvent[],
  pointName: (point: number) => string,
  droppedBy: (ev: KernelEvent) => boolean,
): Array<Verdict | undefined> {
  return events.map((ev) => {
    if (ev.ret === undefined) return undefined;
    const point = pointName(ev.point);
    const freedInside = isTableWalker(point) && ev.retNs !== undefined &&
      events.some((f) => f !== ev && f.skb === ev.skb && f.tsNs >= ev.tsNs && f.tsNs <= ev.retNs! && droppedBy(f));
    return verdictOf(point, ev.ret, freedInside);
  });
}
