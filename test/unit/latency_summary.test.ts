import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { bucketOf, LatencyHistograms } from "../../src/life/latency_histogram.ts";
import { bucketRange, formatLatencySummary } from "../../src/output/latency_summary.ts";
import { latencySummaryJson } from "../../src/output/json_records.ts";
import type { LifeBlock } from "../../src/life/context_tracker.ts";
import type { KernelEvent } from "../../src/event/decode.ts";

const POINTS = ["net_dev_queue", "net_dev_xmit", "netif_receive_skb_tp", "consume_skb"];
const ev = (tsNs: number, point: number) => ({ tsNs, point } as KernelEvent);
const block = (...ts: number[]): LifeBlock => ({ skbs: [1n], complete: true, events: ts.map((t, i) => ev(t, i)) });

Deno.test("latency summary: buckets are powers of two in µs, the first under 1 µs", () => {
  assertEquals([500, 1000, 1999, 2000, 3999, 4000, 1_000_000].map(bucketOf), [0, 1, 1, 2, 2, 3, 10]);
  assertEquals([0, 1, 2, 10].map(bucketRange), ["[0, 1)", "[1, 2)", "[2, 4)", "[512, 1024)"]);
});

Deno.test("latency summary: each point from the one before, the free only with --latency-free", () => {
  const isFree = (e: KernelEvent) => e.point === 3;
  const h = new LatencyHistograms({ includeFree: false, isFree }, (i) => POINTS[i]);
  h.add(block(0, 3_000, 103_000, 104_000));
  h.add(block(0, 1_000, 201_000, 250_000));
  const points = h.points();
  assertEquals(points.map((p) => [p.point, p.count, p.minNs, p.maxNs]), [
    ["netif_receive_skb_tp", 2, 100_000, 200_000],
    ["net_dev_xmit", 2, 1_000, 3_000],
  ]);
  const text = formatLatencySummary(points, 2);
  assertMatch(text, /^latency from the point before, per point, in µs \(2 packets\)\n/);
  assertMatch(
    text,
    /\nnetif_receive_skb_tp: 2 times, min 100, avg 150, max 200\n {9}\[64, 128\) {8}1 \|@{40}\|\n {8}\[128, 256\) {8}1 \|@{40}\|\n/,
  );
  const withFree = new LatencyHistograms({ includeFree: true, isFree }, (i) => POINTS[i]);
  withFree.add(block(0, 3_000, 103_000, 104_000));
  assertEquals(withFree.points().map((p) => p.point).includes("consume_skb"), true);
});

Deno.test("latency summary: the JSON object follows the schema", () => {
  const h = new LatencyHistograms({ includeFree: true, isFree: () => false }, (i) => POINTS[i]);
  h.add(block(0, 3_000, 103_000, 104_000));
  const o = latencySummaryJson(h.points(), 1);
  assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
});
