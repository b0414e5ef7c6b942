/**
 * The shipped --diag messages begin with the C nettrace's words where C has the same finding (its trace.yaml
 * analyzer messages, lower case as C prints them; C's misspellings mended), so a script written for C finds them.
 */
import { assertEquals } from "../helpers/assert.ts";
import { loadRules } from "../../src/diag/rules_source.ts";
import { treeNames } from "../../src/tracer/tree.ts";
import { loadTree } from "../../src/tracer/tree_source.ts";

/** C's message, and the points of ours that give that finding. */
const C_FINDINGS: Array<[string, string[]]> = [
  ["packet is dropped by GRO", ["napi_gro_receive"]],
  ["failed to enqueue to CPU backlog", ["enqueue_to_backlog", "kfree_skb"]],
  ["packet is dropped by XDP program", ["netif_receive_generic_xdp", "kfree_skb"]],
  ["XDP failed to redirect skb", ["xdp_do_generic_redirect"]],
  ["packet is dropped by iptables/iptables-legacy", ["ipt_do_table"]],
  ["packet is dropped by iptables/iptables-nft", ["nft_do_chain_ipv4", "nft_do_chain_inet"]],
  ["NAT happens (packet address will change)", ["nf_nat_manip_pkt"]],
  ["packet is dropped by netfilter (NF_DROP)", ["nf_hook_slow"]],
  ["conntrack window check failed (packet out ordering)", ["nf_conntrack_tcp_packet"]],
  ["source address valid failed (properly rp_filter fail)", ["fib_validate_source", "kfree_skb"]],
  ["failed to route packet in input path", ["ip_route_input_slow"]],
  ["tcp port is not listened", ["kfree_skb"]],
  ["icmp socket is not found", ["kfree_skb"]],
  ["packet is cloned", ["skb_clone"]],
  ["packet is freed (normally)", ["consume_skb"]],
  ["packet is dropped by kernel", ["kfree_skb"]],
];

Deno.test("C findings: each of C's messages begins a shipped rule's message at the points that find it", () => {
  const { points, groups } = treeNames(loadTree());
  const rules = loadRules(undefined, points, groups);
  const missing = C_FINDINGS.flatMap(([words, at]) =>
    at.filter((point) => !rules.some((r) => r.points.includes(point) && r.message.startsWith(words)))
      .map((point) => `${point}: no rule whose message begins "${words}"`)
  );
  assertEquals(missing, []);
});
