import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { formatFuncStats, sortedCalls } from "../../src/output/func_stats.ts";
import { funcStatsJson } from "../../src/output/json_records.ts";
import { parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";
import { assertThrows } from "../helpers/assert.ts";

const ROWS = [
  { point: "icmp_rcv", calls: 10, recent: 4 },
  { point: "netif_receive_skb_tp", calls: 15_230, recent: 1_200 },
  { point: "ip_forward", calls: 0, recent: 0 },
  { point: "consume_skb", calls: 10, recent: 10 },
];

Deno.test("func-stats: the points called, most first (ties by name), the uncalled left out", () => {
  assertEquals(sortedCalls(ROWS).map((r) => r.point), ["netif_receive_skb_tp", "consume_skb", "icmp_rcv"]);
});

Deno.test("func-stats: the table, with the recent calls beside the total when printed every interval", () => {
  assertEquals(
    formatFuncStats(ROWS, 5.04, false),
    "function calls in 5.0 s (3 of 4 points called)\n  15,230  netif_receive_skb_tp\n      10  consume_skb\n" +
      "      10  icmp_rcv",
  );
  const every = formatFuncStats(ROWS, 2, true).split("\n");
  assertMatch(every[0], /, with the calls since the last table$/);
  assertEquals(every[1], "  15,230   +1,200  netif_receive_skb_tp");
});

Deno.test("func-stats: the JSON object follows the schema", () => {
  const o = funcStatsJson(ROWS, {
    tsNs: 5_000_000_000,
    wallOffsetNs: 1_764_800_000_000_000_000,
    seconds: 5.04,
    final: true,
  });
  assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
  assertEquals((o.calls as unknown[]).length, 3);
});

Deno.test("func-stats: a lifecycle option; no filters, no packet output options; --interval goes with it", () => {
  assertEquals(parseArgs(["--func-stats", "-t", "icmp", "--interval", "2"]).intervalS, 2);
  for (
    const argv of [
      ["--func-stats", "--drop"],
      ["--func-stats", "--diag"],
      ["--func-stats", "-p", "icmp"],
      ["--func-stats", "-c", "3"],
      ["--func-stats", "--ret"],
      ["--func-stats", "--trace-stack", "ip_rcv"],
      ["--interval", "2"],
      ["--func-stats", "--interval", "0"],
    ]
  ) assertThrows(() => parseArgs(argv), UsageError);
});
