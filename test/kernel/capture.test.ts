/**
 * --drop -w FILE on the real kernel: the dropped packets in pcapng, read with
 * Debian's tshark (Wireshark's dissectors), each with the kernel's verdict as
 * its comment.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
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
        ? /^dropped: reason NO_SOCKET at __udp4_lib_rcv\+0x[0-9a-f]+ \(tracepoint skb:kfree_skb\), skb 0x[0-9a-f]+, /
        : /^dropped: at __udp4_lib_rcv\+0x[0-9a-f]+ \(tracepoint skb:kfree_skb\), skb 0x[0-9a-f]+, /,
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
  "capture: -w through a symbolic link, or without --drop, is bad input: exit 2, nothing attached",
  async () => {
    const link = `${DIR}/link.pcapng`;
    Deno.symlinkSync("/etc/hostname", link);
    const r = await runNettrace(["--drop", "-w", link]);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /^nettrace: -w '.*link\.pcapng': a symbolic link: nettrace does not write through one\n$/);
    for (
      const args of [["-w", `${DIR}/x.pcapng`, "-p", "tcp"], ["--drop", "--snaplen", "64"], [
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
