/**
 * Drop storms on the real kernel (--storm-limit): a UDP flood to a closed
 * port between two test namespaces. The kernel sends each drop up to the
 * limit and counts its repeats; nettrace prints them per drop and interval,
 * and every drop the kernel counted (the namespace's Udp NoPorts) is shown,
 * summarized or lost.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { reasonColumn } from "../helpers/drop_reason_column.ts";
import { parseJsonLines } from "../helpers/json_schema.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { removeStaleNamespaces, type VethPair, withNet } from "../helpers/netns.ts";
import { DENO, NettraceRun } from "../helpers/nettrace_process.ts";

await removeStaleNamespaces();

const FLOOD = new URL("../helpers/udp_flood.ts", import.meta.url).pathname;
const SUMMARY = /end trace\.\.\.\n(\d+) events shown, (\d+) summarized, (\d+) lost\n/;

/** Floods port of the second host from the first; prints and returns the sender's rate. */
async function flood(net: VethPair, port: number, count: number): Promise<void> {
  const r = await net.exec(net.a, [DENO, "run", "-A", FLOOD, net.v4.b, String(port), String(count)]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(Number(r.stdout.trim()), count, `the flood sent ${r.stdout.trim()} of ${count}`);
  console.log(`  sender, traced with --drop: ${r.stderr.trim()}`);
}

/** The closing counts: shown, summarized, lost. */
function closingCounts(stderr: string): [number, number, number] {
  const m = stderr.match(SUMMARY);
  assert(m, `no closing summary:\n${stderr}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

kernelTest(
  "storm: a flood to a closed port is shown up to the limit, the rest summarized, every drop counted",
  async () => {
    await withNet("storm", async (net) => {
      const run = await NettraceRun.start(["--drop", "--storm-limit", "50/s", "-d", net.v4.b, "-p", "udp"]);
      try {
        await flood(net, 9, 20000);
        const repeats = new RegExp(
          `^\\[\\d+\\.\\d{6}\\] UDP: 10\\.231\\.0\\.1 -> 10\\.231\\.0\\.2:9, ${
            reasonColumn("NO_SOCKET")
          }__udp4_lib_rcv\\+0x[0-9a-f]+ \\.\\.\\. and ([\\d,]+) more like this in \\d+\\.\\d s$`,
        );
        assert(await run.waitForLine(repeats, 5000), `no storm line:\n${run.stdout.slice(-2000)}`);
        const r = await run.stop();
        assertEquals(r.code, 0, r.stderr);
        const noPorts = await net.snmpCounter(net.b, "Udp", "NoPorts");
        const [shown, summarized, lost] = closingCounts(r.stderr);
        assertEquals(shown + summarized + lost, noPorts, `shown + summarized + lost != Udp NoPorts (${noPorts})`);
        assert(summarized > 0 && shown < noPorts, `nothing summarized: ${r.stderr}`);
        const lines = r.stdout.split("\n").filter((l) => l);
        const dropLine = new RegExp(
          `^\\[\\d+\\.\\d{6}\\] UDP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:9 len:\\d+, ${
            reasonColumn("NO_SOCKET")
          }__udp4_lib_rcv\\+0x[0-9a-f]+$`,
        );
        const drops = lines.filter((l) => dropLine.test(l));
        const storms = lines.filter((l) => repeats.test(l));
        assertEquals(
          drops.length + storms.length,
          lines.length,
          `lines neither drops nor repeats:\n${lines.join("\n")}`,
        );
        assertEquals(drops.length, shown);
        // each repeat line says how many; together they are the summary's count
        const total = storms.reduce((n, l) => n + Number(l.match(repeats)![1].replaceAll(",", "")), 0);
        assertEquals(total, summarized, storms.join("\n"));
        // 50 a second per key, per window: the flood lasts a few windows at most (the count is approximate across CPUs)
        assert(shown <= 50 * 2 * 10, `${shown} shown with --storm-limit 50/s`);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft();
  },
);

kernelTest("storm: --json, two flows: one storm object per flow, counts adding up to the summary", async () => {
  await withNet("stormj", async (net) => {
    const run = await NettraceRun.start(["--drop", "--json", "--storm-limit", "20/s", "-d", net.v4.b, "-p", "udp"]);
    try {
      await flood(net, 9, 5000);
      await flood(net, 10, 5000);
      assert(
        await run.waitFor(
          () => run.stdout.includes('"type":"storm"') && run.stdout.includes('"dport":10,"count"'),
          5000,
        ),
        run.stdout.slice(-2000),
      );
      const r = await run.stop();
      assertEquals(r.code, 0, r.stderr);
      const records = parseJsonLines(r.stdout);
      const summary = records.at(-1)!;
      assertEquals(summary.type, "summary");
      const noPorts = await net.snmpCounter(net.b, "Udp", "NoPorts");
      assertEquals(noPorts, 10000);
      const drops = records.filter((o) => o.type === "drop");
      const storms = records.filter((o) => o.type === "storm");
      assertEquals(drops.length, summary.shown);
      assertEquals(
        (summary.shown as number) + (summary.summarized as number) + (summary.lost as number) +
          (summary.storm_full as number),
        noPorts,
      );
      for (const port of [9, 10]) {
        const mine = storms.filter((o) => o.dport === port);
        assert(mine.length > 0, `no storm object for port ${port}`);
        for (const o of mine) {
          assertEquals([o.protocol, o.saddr, o.daddr], ["UDP", net.v4.a, net.v4.b]);
          assertMatch(o.location as string, /^__udp4_lib_rcv\+0x/);
        }
        assert(drops.some((o) => (o.packet as Record<string, unknown>).dport === port), `no drop shown for ${port}`);
      }
      assertEquals(storms.reduce((n, o) => n + (o.count as number), 0), summary.summarized);
    } finally {
      await run.stop();
    }
  });
  await assertNothingLeft();
});

kernelTest("storm: --no-storm-limit shows every drop (shown + lost = Udp NoPorts, none summarized)", async () => {
  await withNet("stormn", async (net) => {
    const run = await NettraceRun.start(["--drop", "--no-storm-limit", "-d", net.v4.b, "-p", "udp"]);
    try {
      await flood(net, 9, 3000);
      const noPorts = await net.snmpCounter(net.b, "Udp", "NoPorts");
      await run.waitFor(() => run.lines.length >= noPorts, 5000);
      const r = await run.stop();
      const [shown, summarized, lost] = closingCounts(r.stderr);
      assertEquals(summarized, 0);
      assertEquals(shown + lost, noPorts);
      assertEquals(r.stdout.split("\n").filter((l) => / more like this /.test(l)).length, 0);
    } finally {
      await run.stop();
    }
  });
  await assertNothingLeft();
});
