/**
 * Netfilter details in words, as the C nettrace shows them on a line:
 * `ipv4 in chain: INPUT`, `nft table:filter, chain:input, verdict: drop`.
 * @module
 */
import type { NetfilterInfo } from "../event/decode.ts";
import type { Verdict } from "../event/netfilter_verdict.ts";

/** NFPROTO_* names. */
const FAMILIES: Record<number, string> = { 1: "inet", 2: "ipv4", 3: "arp", 5: "netdev", 7: "bridge", 10: "ipv6" };
/** NF_INET_* hooks as iptables names its chains. */
const HOOKS = ["PRE_ROUTING", "INPUT", "FORWARD", "OUTPUT", "POST_ROUTING"];

/** The family's name. */
export function familyName(pf: number): string {
  return FAMILIES[pf] ?? `family ${pf}`;
}

/** The hook's name (the iptables chain it feeds). */
export function hookName(hook: number): string {
  return HOOKS[hook] ?? `hook ${hook}`;
}

/** Where netfilter dropped a packet, on a drop's line: `nft table:filter, chain:input, ipv4 INPUT`. */
export function netfilterDropNote(nf: NetfilterInfo): string {
  const what = nf.chain ? `nft table:${nf.table}, chain:${nf.chain}` : `iptables table:${nf.table}`;
  return `${what}, ${familyName(nf.pf)} ${hookName(nf.hook)}`;
}

/** The note of a line at a netfilter function; verdict: what its return value said, when it was seen. */
export function netfilterNote(nf: NetfilterInfo, verdict?: Verdict): string {
  const where = `${familyName(nf.pf)} in chain: ${hookName(nf.hook)}`;
  const said = verdict ? `, verdict: ${verdict}` : "";
  if (nf.chain) return `nft table:${nf.table}, chain:${nf.chain}${said}`;
  if (nf.table) return `iptables table:${nf.table}, ${where}${said}`;
  return where + said;
}
