/**
 * --diag on a bridge: two namespaces on one subnet, joined by a bridge in a
 * third, whose nft bridge table drops one UDP port in its forward hook. On
 * every kernel the free carries NETFILTER_DROP; where functions are traced,
 * the lines name the bridge family's hook, the table and chain, the verdict,
 * and the finding names the bridge.
 */
import { assert, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { removeStaleNamespaces } from "../helpers/netns.ts";
import { NettraceRun } from "../helpers/nettrace_process.ts";
import { type BridgeLab, withBridgeLab } from "../helpers/bridge_lab.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { functionProbesHere } from "../helpers/capabilities.ts";
import { diagBlocks } from "../helpers/diag_output.ts";

await removeStaleNamespaces();

kernelTest(
  "diag: a drop in an nft bridge table: NETFILTER_DROP, and the bridge hook, table and chain where traced",
  async () => {
    const functions = functionProbesHere();
    await withBridgeLab("dbr", async (lab: BridgeLab) => {
      // the table exists before nettrace starts: nf_tables can be a module, its types are read at load
      await lab.must(lab.bridge, ["nft", "-f", "-"], {
        input: "table bridge nettrace_bridge_filter {\n" +
          "  chain forward_udp {\n" +
          "    type filter hook forward priority 0; policy accept;\n" +
          "    udp dport 7500 drop\n  }\n}\n",
      });
      const run = await NettraceRun.start(["--diag", "--diag-keep", "--addr", lab.addr.b], 120000);
      try {
        await lab.exec(lab.a, ["bash", "-c", `echo nettrace-test > /dev/udp/${lab.addr.b}/7500`]);
        const dropped = () =>
          diagBlocks(run.stdout).find((b) =>
            b.kind === "packet" && /NETFILTER_DROP/.test(b.analysis) && b.lines.some((l) => l.includes(":7500"))
          );
        await run.waitFor(() => dropped() !== undefined, 15000);
        const b = dropped();
        assert(b, `no analysed packet to :7500:\n${run.stdout}\n${run.stderr}`);
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by netfilter/);
        assertMatch(b.analysis, /drop reason:\n\tNETFILTER_DROP/);
        if (functions) {
          const text = b.lines.join("\n");
          assertMatch(text, /\[nf_hook_slow\s*\] UDP: .* \*bridge in chain: FORWARD, verdict: drop\*/);
          assertMatch(
            text,
            /\[nft_do_chain_bridge\s*\] UDP: .* \*nft table:nettrace_bridge_filter, chain:forward_udp, verdict: drop\*/,
          );
          assertMatch(
            b.analysis,
            /ERROR happens in nft_do_chain_bridge\(netfilter\):\n\tpacket is dropped by nftables on the bridge[^\n]*\n {4}fix advice:\n\tcheck the bridge family's rules/,
          );
          assert(b.lines.some((l) => /\[br_forward/.test(l) || /\[__br_forward/.test(l)), text);
        } else console.log("this kernel traces no functions: the bridge hook, table and chain are not checked");
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("after --diag on a bridge");
  },
);
