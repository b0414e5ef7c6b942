/**
 * deno task bench, part 2: the cost of lifecycle tracing on a flow.
 *
 * A UDP flow between two test namespaces (bench/udp_flood.c, sendmmsg, to a
 * closed port: each packet lives from transmit to its drop). Packets/s the
 * sender achieves with no tracing, with lifecycle tracing on that flow (chosen
 * by the fixed options, and by the same filter as a tcpdump expression), and
 * with --rate-limit; the blocks printed and events lost or held back; time
 * from start to "begin trace..." with the whole default tree.
 *
 *   deno run -A bench/life_flow.ts [--packets N]
 */
import { removeStaleNamespaces, VethPair } from "../test/helpers/netns.ts";
import { startToFile } from "./nettrace_to_file.ts";

const argIdx = Deno.args.indexOf("--packets");
const PACKETS = argIdx >= 0 ? Number(Deno.args[argIdx + 1]) : 100_000;
const WORK = new URL("../.bench/", import.meta.url).pathname;
const FLOOD = `${WORK}udp_flood`;

async function buildFlood(): Promise<void> {
  await Deno.mkdir(WORK, { recursive: true });
  const src = new URL("./udp_flood.c", import.meta.url).pathname;
  const r = await new Deno.Command("clang", { args: ["-O2", "-o", FLOOD, src] }).output();
  if (!r.success) throw new Error(`clang udp_flood.c failed: ${new TextDecoder().decode(r.stderr)}`);
}

interface Row {
  what: string;
  pps: number;
  startMs: number | "-";
  blocks: number | "-";
  lost: number | "-";
  limited: number | "-";
}

async function flood(net: VethPair): Promise<number> {
  const t0 = performance.now();
  const r = await net.exec(net.a, [FLOOD, net.v4.b, "9", String(PACKETS)]);
  if (r.code !== 0) throw new Error(`udp_flood failed: ${r.stderr}`);
  return Math.round(Number(r.stdout.trim()) / ((performance.now() - t0) / 1000));
}

/** The flow, chosen by nettrace's fixed options or by the same filter as a tcpdump expression. */
const fixedFilter = (net: VethPair) => ["-d", net.v4.b, "-p", "udp"];
const expressionFilter = (net: VethPair) => ["-e", `ip dst host ${net.v4.b} and udp`];

async function traced(net: VethPair, what: string, extra: string[], filter = fixedFilter(net)): Promise<Row> {
  const outFile = `${WORK}life-${what.replace(/\W+/g, "_")}.out`;
  const run = await startToFile([...filter, ...extra], outFile);
  const pps = await flood(net);
  await new Promise((r) => setTimeout(r, 3000)); // contexts whose end came last, and the timeout
  const stderr = await run.stop();
  const m = stderr.match(/end trace\.\.\.\n(\d+) packets shown, (\d+) events lost(?:, (\d+) held back)?/);
  if (!m) throw new Error(`no summary: ${stderr}`);
  return {
    what,
    pps,
    startMs: Math.round(run.startMs),
    blocks: Number(m[1]),
    lost: Number(m[2]),
    limited: Number(m[3] ?? 0),
  };
}

if (import.meta.main) {
  await buildFlood();
  await removeStaleNamespaces();
  const net = await VethPair.create("lifebench");
  const rows: Row[] = [];
  try {
    await flood(net); // warm up (ARP, caches)
    rows.push({ what: "no tracing", pps: await flood(net), startMs: "-", blocks: "-", lost: "-", limited: "-" });
    rows.push(await traced(net, "lifecycle tracing (-d ADDR -p udp)", []));
    rows.push(await traced(net, "lifecycle, -e 'ip dst host ADDR and udp'", [], expressionFilter(net)));
    rows.push(await traced(net, "lifecycle, --rate-limit 1000/s", ["--rate-limit", "1000/s"]));
  } finally {
    await net.destroy();
  }
  console.log(
    `\nnettrace lifecycle on a UDP flow (${PACKETS} packets, ${navigator.hardwareConcurrency} CPUs, ${Deno.osRelease()})\n`,
  );
  const head = ["", "packets/s", "begin trace ms", "blocks", "lost", "rate-limited"];
  const table = [head, ...rows.map((r) => [r.what, r.pps, r.startMs, r.blocks, r.lost, r.limited].map(String))];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    console.log("  " + row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  "));
  }
  const [fixed, expr] = [rows[1].pps, rows[2].pps];
  console.log(
    `\n  the same filter as a tcpdump expression: the sender at ${(100 * expr / fixed).toFixed(1)}% of its rate with ` +
      `the fixed options (goal: at least 90.9%, i.e. the expression costs at most 10% more)`,
  );
  console.log("  packets/s: what the sender achieved; begin trace: start to 'begin trace...' with the default tree");
  console.log(
    "  blocks: packets printed whole; lost: events the ring had no room for; rate-limited: held back in the kernel\n",
  );
}
