/**
 * The Prometheus exposition nettrace serves (--metrics), without a kernel:
 * the text format, the escaping of label values that come from the kernel,
 * the bound on series, --monitor's families, and the address option.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { boundedSamples, escapeLabelValue, formatExposition, OTHER } from "../../src/output/prometheus.ts";
import { MAX_DROP_SERIES, monitorFamilies, RTT_BUCKETS } from "../../src/output/monitor_metrics.ts";
import { parseListenOption } from "../../src/cli/values.ts";
import { UsageError } from "../../src/errors.ts";

/** The exposition format's sample lines: name{labels} value (as Prometheus' own parser reads them). */
const SAMPLE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/;

Deno.test("prometheus: HELP, TYPE and samples; label values escaped; every line parses", () => {
  const text = formatExposition([
    {
      name: "nettrace_drops_total",
      help: "drops\nby reason \\ location",
      type: "counter",
      samples: [
        { labels: { reason: "NO_SOCKET", location: "tcp_v4_rcv" }, value: 7 },
        // a name from the kernel or the network with a quote, a backslash, a newline, an escape sequence
        { labels: { reason: 'say "hi"\\', location: "evil\n\x1b[31mred" }, value: 1 },
      ],
    },
    { name: "nettrace_start_time_seconds", help: "start", type: "gauge", samples: [{ labels: {}, value: 1.5 }] },
  ]);
  assertEquals(
    text,
    [
      "# HELP nettrace_drops_total drops\\nby reason \\\\ location",
      "# TYPE nettrace_drops_total counter",
      'nettrace_drops_total{reason="NO_SOCKET",location="tcp_v4_rcv"} 7',
      'nettrace_drops_total{reason="say \\"hi\\"\\\\",location="evil\\n [31mred"} 1',
      "# HELP nettrace_start_time_seconds start",
      "# TYPE nettrace_start_time_seconds gauge",
      "nettrace_start_time_seconds 1.5",
      "",
    ].join("\n"),
  );
  for (const l of text.split("\n").filter((l) => l && !l.startsWith("#"))) assertMatch(l, SAMPLE);
  assertEquals(escapeLabelValue("a\tb\x7f"), "a b ");
  assertThrows(
    () => formatExposition([{ name: "bad-name", help: "", type: "gauge", samples: [] }]),
    Error,
    "not valid",
  );
  assertThrows(
    () =>
      formatExposition([{ name: "x", help: "", type: "gauge", samples: [{ labels: { "bad-label": "v" }, value: 1 }] }]),
    Error,
    "not valid",
  );
});

Deno.test("prometheus: a family keeps its largest series and adds the rest into one 'other'", () => {
  const counts = Array.from({ length: 10 }, (_, i) => ({ labels: { reason: `R${i}`, location: `f${i}` }, value: i }));
  const kept = boundedSamples(counts, 4);
  assertEquals(kept.length, 4);
  assertEquals(kept.slice(0, 3).map((s) => s.labels.reason), ["R9", "R8", "R7"]);
  assertEquals(kept[3], { labels: { reason: OTHER, location: OTHER }, value: 0 + 1 + 2 + 3 + 4 + 5 + 6 });
  // the total is kept
  assertEquals(kept.reduce((n, s) => n + s.value, 0), 45);
  assertEquals(boundedSamples(counts.slice(0, 3), 4).length, 3);
});

Deno.test("prometheus: --monitor's families, drop series bounded however many keys the kernel counted", () => {
  const drops = Array.from({ length: 1000 }, (_, i) => ({
    reason: "NO_SOCKET",
    location: "__udp4_lib_rcv",
    ifindex: 2,
    netns: 4026531840 + i,
    count: i + 1,
  }));
  const families = monitorFamilies({
    drops: [...drops, { ifindex: 0, netns: 0, count: 5 }],
    findings: [
      { point: "tcp_receive_reset", level: "WARN", message: "the peer reset the connection", count: 3 },
      { point: "tcp_send_active_reset", level: "WARN", message: "the application reset the connection", count: 2 },
      { point: "tcp_retransmit_timer", level: "WARN", message: "the TCP retransmission timer fired (RTO)", count: 4 },
    ],
    parts: [{ part: "drops", seen: 10, lost: 1, shown: 8, summarized: 1 }],
    startSeconds: 1_800_000_000,
  });
  const byName = new Map(families.map((f) => [f.name, f]));
  const dropSeries = byName.get("nettrace_drops_total")!.samples;
  assertEquals(dropSeries.length, MAX_DROP_SERIES);
  assertEquals(dropSeries.reduce((n, s) => n + s.value, 0), (1000 * 1001) / 2 + 5);
  assertEquals(dropSeries.at(-1)!.labels, { reason: OTHER, location: OTHER, ifindex: OTHER, netns: OTHER });
  assertEquals(byName.get("nettrace_tcp_resets_total")!.samples.map((s) => [s.labels.direction, s.value]), [
    ["sent", 2],
    ["received", 3],
  ]);
  assertEquals(byName.get("nettrace_tcp_retransmission_timeouts_total")!.samples[0].value, 4);
  const text = formatExposition(families);
  for (const l of text.split("\n").filter((l) => l && !l.startsWith("#"))) assertMatch(l, SAMPLE);
  assert(text.includes('nettrace_events_lost_total{part="drops"} 1'), text);
});

Deno.test("prometheus: the RTT histogram: cumulative buckets by power of two microseconds, +Inf, sum and count", () => {
  const slots = new Array(32).fill(0);
  slots[3] = 5; // 8-15 µs
  slots[10] = 2; // 1024-2047 µs
  slots[30] = 1; // over the last bucket served: +Inf only
  const families = monitorFamilies({
    drops: [],
    findings: [],
    rtt: { count: 8, sumUs: 5 * 10 + 2 * 1500 + 2 ** 30, slots },
    parts: [],
    startSeconds: 0,
  });
  const text = formatExposition(families);
  assertMatch(text, /^# TYPE nettrace_tcp_rtt_seconds histogram$/m);
  const bucket = (le: string) =>
    Number(
      text.match(new RegExp(`^nettrace_tcp_rtt_seconds_bucket\\{le="${le.replace(/[+.]/g, "\\$&")}"\\} (\\d+)$`, "m"))
        ?.[1],
    );
  assertEquals(bucket("0.000007"), 0);
  assertEquals(bucket("0.000015"), 5);
  assertEquals(bucket("0.002047"), 7);
  assertEquals(bucket("33.554431"), 7);
  assertEquals(bucket("+Inf"), 8);
  assertEquals(text.split("\n").filter((l) => l.startsWith("nettrace_tcp_rtt_seconds_bucket")).length, RTT_BUCKETS + 1);
  assertMatch(text, /^nettrace_tcp_rtt_seconds_sum 1073\.7448\d*$/m);
  assertMatch(text, /^nettrace_tcp_rtt_seconds_count 8$/m);
  for (const l of text.split("\n").filter((l) => l && !l.startsWith("#"))) assertMatch(l, SAMPLE);
  // without RTT points, no histogram
  assert(!formatExposition(monitorFamilies({ drops: [], findings: [], parts: [], startSeconds: 0 })).includes("rtt"));
  assertThrows(
    () =>
      formatExposition([{ name: "x", help: "", type: "counter", samples: [{ labels: {}, value: 1, suffix: "_sum" }] }]),
    Error,
    "x_sum in a counter",
  );
});

Deno.test("prometheus: --metrics ADDR:PORT; loopback or not", () => {
  assertEquals(parseListenOption("--metrics", "127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464, local: true });
  assertEquals(parseListenOption("--metrics", "[::1]:9464"), { hostname: "::1", port: 9464, local: true });
  assertEquals(parseListenOption("--metrics", "localhost:0"), { hostname: "127.0.0.1", port: 0, local: true });
  assertEquals(parseListenOption("--metrics", "0.0.0.0:9464").local, false);
  assertEquals(parseListenOption("--metrics", "[::]:9464").local, false);
  for (const bad of ["9464", "127.0.0.1", "host.example:9464", "127.0.0.1:99999", "[::1:9464", "::1:9464"]) {
    assertThrows(() => parseListenOption("--metrics", bad), UsageError, "--metrics: ");
  }
});
