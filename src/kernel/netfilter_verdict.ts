/**
 * What a netfilter function's return value means: nf_hook_slow returns 1
 * (accepted), 0 (stolen or queued) or a negative errno (dropped); the table
 * walkers (ipt_do_table and kin, nft_do_chain_*) return NF_DROP 0, NF_ACCEPT
 * 1, NF_STOLEN 2, NF_QUEUE 3. Pure.
 * @module
 */

/** Netfilter verdicts, as rules and lines name them. */
export type Verdict = "accept" | "drop" | "stolen";

const HOOK_STYLE = new Set(["nf_hook_slow"]);
const TABLE_STYLE = /^(ipt_do_table|ip6t_do_table|arpt_do_table|ebt_do_table|nft_do_chain.*)$/;

/** The netfilter verdict a point's return value means, if the point returns one. */
export function verdictOf(point: string, ret: bigint | undefined): Verdict | undefined {
  if (ret === undefined) return undefined;
  const v = BigInt.asIntN(32, ret);
  if (HOOK_STYLE.has(point)) return v === 1n ? "accept" : v < 0n ? "drop" : "stolen";
  if (TABLE_STYLE.test(point)) return v === 0n ? "drop" : v === 1n ? "accept" : "stolen";
  return undefined;
}
