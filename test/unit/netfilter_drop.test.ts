/**
 * Where netfilter dropped a packet (--monitor, bpf/include/netfilter_drop.h): the kernel's struct read back, the drop
 * line and its JSON with the table, chain and hook, and the metrics family with its bound.
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { recordedEvent } from "../helpers/recorded_event.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { decodeNetfilterWhere } from "../../src/event/decode.ts";
import { NF_WHERE } from "../../src/event/layout.ts";
import { formatDropLine } from "../../src/output/drop_line.ts";
import { dropJson } from "../../src/output/json_records.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import { MAX_NETFILTER_SERIES, monitorFamilies } from "../../src/output/monitor_metrics.ts";
import { formatExposition } from "../../src/output/prometheus.ts";

const PING = {
  l3Proto: 0x0800,
  l4Proto: 1,
  l3: new Uint8Array([0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 231, 0, 1, 10, 231, 0, 2]),
  l4: new Uint8Array([8, 0, 0, 0, 0x12, 0x34, 0, 7]),
};

/** struct nt_nf_where bytes: family, hook, table, chain (NUL-padded). */
function whereBytes(pf: number, hook: number, table: string, chain: string): DataView {
  const b = new Uint8Array(NF_WHERE.size);
  b[NF_WHERE.pf] = pf;
  b[NF_WHERE.hook] = hook;
  b.set(new TextEncoder().encode(table), NF_WHERE.table);
  b.set(new TextEncoder().encode(chain), NF_WHERE.chain);
  return new DataView(b.buffer);
}

Deno.test("netfilter drop: the kernel's place read back; a name with control characters comes out escaped", () => {
  assertEquals(decodeNetfilterWhere(whereBytes(2, 1, "filter", "input"), 0), {
    pf: 2,
    hook: 1,
    hooks: [],
    table: "filter",
    chain: "input",
  });
  assertEquals(decodeNetfilterWhere(whereBytes(10, 3, "t\x1b[31m", ""), 0).table, "t\\e[31m");
});

Deno.test("netfilter drop: the drop line and its JSON name the table, chain and hook", () => {
  const ctx = { time: new TimestampFormatter(false, 0), symbolize: () => "nf_hook_slow+0x9c", detail: false };
  const nft = recordedEvent({
    packet: PING,
    tsNs: 2_000_000_000,
    kind: 1,
    nf: { pf: 2, hook: 1, hooks: [], table: "mon", chain: "in" },
  });
  assertEquals(
    formatDropLine(nft, ctx),
    "[2.000000] ICMP: 10.231.0.1 -> 10.231.0.2 ping request, id:4660, seq:7, nf_hook_slow+0x9c, nft table:mon, chain:in, ipv4 INPUT",
  );
  const ipt = { ...nft, nf: { pf: 10, hook: 3, hooks: [], table: "filter", chain: "" } };
  assertMatch(formatDropLine(ipt, ctx), /, nf_hook_slow\+0x9c, iptables table:filter, ipv6 OUTPUT$/);
  const o = dropJson(nft, { symbolize: ctx.symbolize, wallOffsetNs: 0 });
  assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
  assertEquals(o.netfilter, { family: "ipv4", hook: "INPUT", table: "mon", chain: "in" });
  assertEquals(dropJson({ ...nft, nf: undefined }, { symbolize: ctx.symbolize, wallOffsetNs: 0 }).netfilter, undefined);
});

Deno.test("netfilter drop: nettrace_netfilter_drops_total by family, hook, table and chain, bounded, with other", () => {
  const text = (netfilterDrops?: Parameters<typeof monitorFamilies>[0]["netfilterDrops"]) =>
    formatExposition(monitorFamilies({ drops: [], netfilterDrops, findings: [], parts: [], startSeconds: 0 }));
  const one = text([
    { family: "ipv4", hook: "INPUT", table: "mon", chain: "in", count: 7 },
    { family: "ipv4", hook: "FORWARD", table: "filter", chain: "", count: 2 },
    { count: 1 },
  ]);
  assertMatch(one, /^# TYPE nettrace_netfilter_drops_total counter$/m);
  assertMatch(one, /^nettrace_netfilter_drops_total\{family="ipv4",hook="INPUT",table="mon",chain="in"\} 7$/m);
  assertMatch(one, /^nettrace_netfilter_drops_total\{family="ipv4",hook="FORWARD",table="filter",chain=""\} 2$/m);
  assertMatch(one, /^nettrace_netfilter_drops_total\{family="other",hook="other",table="other",chain="other"\} 1$/m);
  // where netfilter's walks are not traced, no family
  assertEquals(text(undefined).includes("nettrace_netfilter_drops_total"), false);
  // a table per drop cannot blow up the series: the rest goes into other
  const many = text(
    Array.from({ length: 500 }, (_, i) => ({ family: "ipv4", hook: "INPUT", table: `t${i}`, chain: "c", count: 1 })),
  );
  const series = many.split("\n").filter((l) => l.startsWith("nettrace_netfilter_drops_total{"));
  // the largest kept, the one series before the bound left for other
  assertEquals(series.length, MAX_NETFILTER_SERIES);
  assertMatch(many, new RegExp(`table="other",chain="other"\\} ${500 - (MAX_NETFILTER_SERIES - 1)}$`, "m"));
});
