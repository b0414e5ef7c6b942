/**
 * --drop -w FILE on the real kernel: the dropped packets in pcapng, read with
 * Debian's tshark (Wireshark's dissectors), each with the kernel's verdict as
 * its comment.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { autoDropPoint } from "../helpers/capabilities.ts";
import { kernelReportsDropReasons } from "../helpers/drop_reason_column.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";
import { readPcapng } from "../helpers/pcapng_reader.ts";

await removeStaleNamespaces();

const DIR = Deno.makeTempDirSync({ prefix: "nettrace-capture-" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

/** tshark's fields of the frames in file that match filter, one array per frame. */
async function tshark(file: string, filter: string, fields: string[]): Promise<string[][]> {
  const out = await must([
    "tshark",
    "-r",
    file,
    "-Y",
    filter,
    "-T",
    "fields",
    "-E",
    "separator=|",
    ...fields.flatMap((f) => ["-e", f]),
  ]);
  return out.split("\n").filter((l) => l).map((l) => l.split("|"));
}

/** Runs --drop with args until `lines` drops are shown, causing them with cause. */
async function dropsTo(args: string[], cause: () => Promise<unknown>, lines: number): Promise<string> {
  const run = await NettraceRun.start(["--drop", ...args]);
  try {
    await cause();
    assert(await run.waitFor(() => run.lines.length >= lines, 5000), `${lines} drops not shown:\n${run.stdout}`);
    const r = await run.stop();
    assertEquals(r.code, 0, r.stderr);
    return r.stdout;
  } finally {
    await run.stop();
  }
}

kernelTest("capture: -w writes the dropped datagram; tshark finds it by port, its comment has the reason", async () => {
  await withNet("cap", async (net) => {
    const file = `${DIR}/udp.pcapng`;
    const stdout = await dropsTo(
      ["-w", file, "-d", net.v4.b, "-p", "udp"],
      async () => {
        await net.udpSend(net.a, net.v4.b, 7001);
        await net.udpSend(net.a, net.v4.b, 7002);
      },
      2,
    );
    assertEquals(stdout.trim().split("\n").length, 2);
    assertEquals(Deno.statSync(file).mode! & 0o777, 0o600);
    const frames = await tshark(file, "udp.dstport == 7002", [
      "ip.src",
      "ip.dst",
      "frame.comment",
      "frame.interface_name",
      "frame.len",
      "frame.cap_len",
    ]);
    assertEquals(frames.length, 1, JSON.stringify(frames));
    const [src, dst, comment, ifname, len, caplen] = frames[0];
    assertEquals([src, dst], [net.v4.a, net.v4.b]);
    assertMatch(
      comment,
      kernelReportsDropReasons()
        ? new RegExp(
          `^dropped: reason NO_SOCKET at __udp4_lib_rcv\\+0x[0-9a-f]+ \\(${autoDropPoint}\\), skb 0x[0-9a-f]+, `,
        )
        : new RegExp(`^dropped: at __udp4_lib_rcv\\+0x[0-9a-f]+ \\(${autoDropPoint}\\), skb 0x[0-9a-f]+, `),
    );
    assertMatch(comment, new RegExp(`dev veth0, netns ${net.netnsInode(net.b)}, `));
    assertEquals(ifname, "veth0");
    // Ethernet, IPv4, UDP and the 14 bytes udpSend sends: all of it, under the default snaplen
    assertEquals([Number(len), Number(caplen)], [14 + 20 + 8 + 14, 14 + 20 + 8 + 14]);
    assertEquals((await tshark(file, "udp.dstport == 7001", ["frame.number"])).length, 1);
  });
  await assertNothingLeft();
});

kernelTest("capture: --snaplen keeps that many bytes; a second run appends its own section", async () => {
  await withNet("capsnap", async (net) => {
    const file = `${DIR}/snap.pcapng`;
    for (const snaplen of ["40", "64"]) {
      await dropsTo(["-w", file, "--snaplen", snaplen, "-d", net.v4.b, "-p", "udp"], async () => {
        await net.udpSend(net.a, net.v4.b, 7003, "x".repeat(200));
      }, 1);
    }
    const { sections, packets } = readPcapng(Deno.readFileSync(file));
    assertEquals(sections.map((s) => s.interfaces.map((i) => i.snaplen)), [[40], [64]]);
    assertEquals(packets.map((p) => [p.section, p.data.length]), [[0, 40], [1, 64]]);
    for (const p of packets) assert(p.origLen >= 14 + 20 + 8 + 200, `original length ${p.origLen}`);
    // tshark reads both sections
    assertEquals((await tshark(file, "frame", ["frame.cap_len"])).map((f) => f[0]), ["40", "64"]);
  });
  await assertNothingLeft();
});

kernelTest("capture: a packet dropped on output before it has a MAC header is written from its IP header", async () => {
  await withNet("capout", async (net) => {
    await must(["ip", "netns", "exec", net.a, "nft", "-f", "-"], {
      input: "table inet nt_capout { chain out { type filter hook output priority 0; udp dport 7004 drop; }; }",
    });
    const file = `${DIR}/out.pcapng`;
    await dropsTo(["-w", file, "-d", net.v4.b, "-p", "udp", "-D", "7004"], () => net.udpSend(net.a, net.v4.b, 7004), 1);
    const { sections } = readPcapng(Deno.readFileSync(file));
    assertEquals(sections[0].interfaces.map((i) => i.linkType), [101]);
    const frames = await tshark(file, "udp.dstport == 7004", ["ip.src", "ip.dst", "frame.comment"]);
    assertEquals(frames.length, 1, JSON.stringify(frames));
    assertEquals(frames[0].slice(0, 2), [net.v4.a, net.v4.b]);
    assertMatch(frames[0][2], kernelReportsDropReasons() ? /reason NETFILTER_DROP at / : /^dropped: at nf_hook_slow/);
  });
  await assertNothingLeft();
});

kernelTest(
  "capture: lifecycle -w writes one packet per block, its path through the kernel as the comment",
  async () => {
    await withNet("caplife", async (net) => {
      const file = `${DIR}/life.pcapng`;
      const run = await NettraceRun.start(["-w", file, "-p", "icmp", "--addr", net.v4.b], 60000);
      try {
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
        const blocks = () => run.stdout.split("\n").filter((l) => / ping (request|reply), /.test(l)).length;
        assert(await run.waitFor(() => blocks() >= 2, 10000), run.stdout);
        const r = await run.stop();
        assertEquals(r.code, 0, r.stderr);
        // one packet per block, the block as the text mode prints it (the packet, then a line per point) its comment
        const blocksShown = r.stdout.split("\n\n").map((b) => b.trim()).filter((b) => b);
        const frames = await tshark(file, "icmp", ["icmp.type", "ip.src", "ip.dst", "frame.comment"]);
        assertEquals(frames.length, blocksShown.length, JSON.stringify(frames));
        for (const [type, src, dst, comment] of frames) {
          const text = comment.replaceAll("\\n", "\n").trim();
          assert(blocksShown.includes(text), `a comment that is no block:\n${text}\n\nblocks:\n${r.stdout}`);
          const what = type === "8" ? "request" : "reply";
          assertMatch(text, new RegExp(`ping ${what}, `));
          assertEquals([src, dst], what === "request" ? [net.v4.a, net.v4.b] : [net.v4.b, net.v4.a]);
        }
        // the request's path: sent, received, freed
        const request = frames.filter((f) => f[0] === "8");
        assertEquals(request.length, 1);
        assertMatch(request[0][3], /net_dev_xmit.*netif_receive_skb/);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft();
  },
);

kernelTest(
  "capture: -w through a symbolic link, or without a tracing mode, is bad input: exit 2, nothing attached",
  async () => {
    const link = `${DIR}/link.pcapng`;
    Deno.symlinkSync("/etc/hostname", link);
    const r = await runNettrace(["--drop", "-w", link]);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /^nettrace: -w '.*link\.pcapng': a symbolic link: nettrace does not write through one\n$/);
    for (
      const args of [["-w", `${DIR}/x.pcapng`, "--check"], ["-w", `${DIR}/x.pcapng`, "--basic", "-p", "icmp"], [
        "--drop",
        "--snaplen",
        "64",
      ], [
        "--drop",
        "-w",
        "f",
        "--snaplen",
        "9999",
      ]]
    ) {
      const bad = await runNettrace(args);
      assertEquals(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
      assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    }
    await assertNothingLeft();
  },
);
