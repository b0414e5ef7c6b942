/**
 * --monitor without a kernel: which socket points it traces (those the
 * shipped rules find something wrong at, and the RTT points when asked),
 * its options, the repeats it holds back per finding, and what it adds to
 * a line and a JSON object.
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";
import { Diagnoser } from "../../src/diag/diagnoser.ts";
import type { FindingReport } from "../../src/diag/finding_report.ts";
import { diagnosisRules } from "../../src/modes/diag_rules.ts";
import { monitorSocketLeaves, socketPointText } from "../../src/modes/monitor.ts";
import { allLeaves } from "../../src/tracer/tree.ts";
import { adviceLine, findingJson, findingMark, formatRepeatsLine, repeatsJson } from "../../src/output/monitor_line.ts";
import { RepeatLimit } from "../../src/output/repeat_limit.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import { loadTree } from "../../src/tracer/tree_source.ts";
import { schemaProblem } from "../helpers/json_schema.ts";

Deno.test("monitor: the start names a socket tracepoint hooked at the function behind it with that function", () => {
  const leaf = (name: string) => allLeaves(loadTree()).find((l) => l.name === name)!;
  const reset = leaf("tcp_receive_reset");
  assertEquals(socketPointText({ leaf: reset, method: "tracepoint" }), "tcp_receive_reset");
  assertEquals(
    socketPointText({ leaf: reset, method: "fentry", symbol: "tcp_reset" }),
    "tcp_receive_reset (fentry tcp_reset)",
  );
  const timer = leaf("tcp_retransmit_timer");
  assertEquals(
    socketPointText({ leaf: timer, method: "fentry", symbol: "tcp_retransmit_timer" }),
    "tcp_retransmit_timer",
  );
});

Deno.test("monitor: the socket points are those the rules find something wrong at, and the RTT points when asked", () => {
  const tree = loadTree();
  const diagnoser = new Diagnoser(diagnosisRules(parseArgs(["--monitor"]), tree));
  const names = (rtt: string[]) => monitorSocketLeaves(tree, diagnoser, new Set(rtt)).map((l) => l.name);
  assertEquals(names([]), ["tcp_cong_state_set", "tcp_send_active_reset", "tcp_receive_reset", "tcp_retransmit_timer"]);
  const withRtt = names(["tcp_probe_sock", "tcp_rate_gen"]);
  assert(withRtt.includes("tcp_probe_sock") && withRtt.includes("tcp_rate_gen"), withRtt.join(", "));
  // --sock's points with no rule (sends, receives, state changes) are not traced
  assert(!withRtt.includes("inet_sock_set_state") && !withRtt.includes("tcp_sendmsg"), withRtt.join(", "));
});

Deno.test("monitor: its options; what it cannot be combined with is one line", () => {
  const o = parseArgs(["--monitor", "--addr", "10.0.0.1", "--tcp-srtt", "50", "--storm-limit", "10/s", "--json"]);
  assertEquals([o.mode, o.rttMin.srttUs, o.stormLimit, o.json], ["monitor", 50_000, 10, true]);
  for (
    const [args, msg] of [
      [["--monitor", "--basic"], "--monitor cannot be combined with --basic (--monitor prints one line per event)"],
      [["--monitor", "-w", "x.pcapng"], "--monitor cannot be combined with -w"],
      [["--monitor", "--ret"], "--monitor cannot be combined with --ret"],
      [["--monitor", "--drop"], "--drop cannot be combined with --monitor: they are different modes"],
      [
        ["--monitor", "--latency-show"],
        "--latency-show is for the blocks of lifecycle tracing (not --drop, --basic, --func-stats)",
      ],
    ] as Array<[string[], string]>
  ) {
    const e = assertThrows(() => parseArgs(args), UsageError);
    assertEquals(e.message, msg, args.join(" "));
  }
});

Deno.test("monitor: each finding shows at most N lines a second, the rest are counted and given back", () => {
  const limit = new RepeatLimit(2);
  const shown = [0, 1, 2, 3, 4].map((i) => limit.allow("a", 100 + i));
  assertEquals(shown, [true, true, false, false, false]);
  assertEquals(limit.allow("b", 105), true);
  assertEquals(limit.take(500), []);
  assertEquals(limit.take(1100), [{ key: "a", count: 3, seconds: 1 }]);
  assertEquals(limit.held, 3);
  // a new second: shown again; at the end every held repeat is given back
  assertEquals(limit.allow("a", 1200), true);
  assertEquals([limit.allow("a", 1201), limit.allow("a", 1202)], [true, false]);
  assertEquals(limit.take(1300, true), [{ key: "a", count: 1, seconds: 0.1 }]);
  assertEquals(limit.held, 4);
  // 0: no limit
  const none = new RepeatLimit(0);
  assert([1, 2, 3, 4].every((t) => none.allow("a", t)));
  assertEquals(none.held, 0);
});

Deno.test("monitor: many distinct keys stay bounded", () => {
  const limit = new RepeatLimit(1);
  for (let i = 0; i < 10_000; i++) assert(limit.allow(`k${i}`, i / 100));
  assertEquals(limit.size, 4096);
  // a held repeat outlives keys without any
  assertEquals([limit.allow("k9999", 100), limit.allow("k9999", 100)], [false, false]);
  for (let i = 0; i < 5000; i++) limit.allow(`m${i}`, 101);
  assertEquals(limit.take(100, true).filter((r) => r.key === "k9999"), [{ key: "k9999", count: 2, seconds: 0.001 }]);
});

Deno.test("monitor: a finding marks its line, its advice comes once, and JSON carries both", () => {
  const report = {
    finding: {
      level: "ERROR",
      point: "kfree_skb",
      group: "life",
      message: "tcp port is not listened: no socket for the packet",
      advice: "check that the service listens",
      rule: {} as never,
    },
    advice: "check that the service listens",
  } as FindingReport;
  assertEquals(findingMark(report), " *tcp port is not listened: no socket for the packet*");
  assertEquals(findingMark(undefined), "");
  assertEquals(adviceLine("check it"), "    fix advice: check it");
  assertEquals(findingJson(report), {
    level: "ERROR",
    message: "tcp port is not listened: no socket for the packet",
    advice: "check that the service listens",
  });
  const r = {
    key: "x",
    point: "tcp_receive_reset",
    message: "the peer reset the connection",
    count: 1204,
    seconds: 1.0024,
    tsNs: 5_000_000_000,
  };
  const time = new TimestampFormatter(false, 0);
  assertEquals(
    formatRepeatsLine(r, time),
    "[5.000000] tcp_receive_reset: the peer reset the connection ... and 1,204 more like this in 1.0 s",
  );
  const o = repeatsJson(r, 1_700_000_000_000_000_000);
  assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
  assertEquals([o.type, o.count, o.seconds], ["repeats", 1204, 1.002]);
});
