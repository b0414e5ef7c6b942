/**
 * Diagnosis rules: the schema (a malformed file names its line and field),
 * each condition and operator, first match wins, change rules apart, and the
 * ANALYSIS RESULT rendered from recorded events.
 */
import { analysisOf, marksOf } from "../helpers/report_text.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { checkRuleNames, parseRules } from "../../src/diag/rules.ts";
import { RuleFileError } from "../../src/diag/rule_file_error.ts";
import { recordedEvent } from "../helpers/recorded_event.ts";
import { type DiagEvent, Diagnoser, numberPasses } from "../../src/diag/diagnoser.ts";
import { verdictOf } from "../../src/event/netfilter_verdict.ts";
import { PacketDiagnosis } from "../../src/diag/packet_report.ts";
import { decodeNetfilter, type KernelEvent, recordKind } from "../../src/event/decode.ts";
import { KIND, NF_EVENT } from "../../src/event/layout.ts";
import { netfilterNote } from "../../src/output/netfilter_text.ts";
import { ContextTracker } from "../../src/life/context_tracker.ts";
import { formatBlock } from "../../src/output/life_line.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import { loadRules } from "../../src/diag/rules_source.ts";
import { loadTree } from "../../src/tracer/tree_source.ts";
import { treeNames } from "../../src/tracer/tree.ts";

function fileError(text: string): RuleFileError {
  return assertThrows(() => parseRules(text, "my.yaml"), RuleFileError) as RuleFileError;
}

Deno.test("rules: a malformed rule names the file, the line and the field", () => {
  const cases: Array<[string, number, string]> = [
    ["- point: kfree_skb\n  level: ERROR\n  message: x\n  colour: red\n", 4, "colour"],
    ["- point: kfree_skb\n  level: FATAL\n  message: x\n", 2, "level"],
    ["- point: kfree_skb\n  level: ERROR\n", 1, "message"],
    ["- level: ERROR\n  message: x\n", 1, "point"],
    [
      "- point: a\n  level: INFO\n  message: x\n- point: nf_hook_slow\n  ret: { between: 1 }\n  level: INFO\n  message: y\n",
      5,
      "ret",
    ],
    ["- point: x\n  ret: { range: [5, 1] }\n  level: INFO\n  message: y\n", 2, "ret"],
    ["- point: x\n  verdict: maybe\n  level: INFO\n  message: y\n", 2, "verdict"],
    ["- point: x\n  tcp_flags: SZ\n  level: INFO\n  message: y\n", 2, "tcp_flags"],
    ["- point: x\n  reason: no_socket\n  level: INFO\n  message: y\n", 2, "reason"],
    ["- point: x\n  tcp_state: LISTENING\n  level: INFO\n  message: y\n", 2, "tcp_state"],
    ["- point: x\n  no_reason: yes\n  level: INFO\n  message: y\n", 2, "no_reason"],
    ["- point: x\n  level: INFO\n  message: [unclosed\n", 4, "syntax"],
    ["point: x\n", 1, "top"],
  ];
  for (const [text, line, field] of cases) {
    const e = fileError(text);
    assertEquals([e.file, e.line, e.field], ["my.yaml", line, field], `${text}\n-> ${e.message}`);
    assertMatch(e.message, new RegExp(`^my\\.yaml:${line}: ${field}: `));
  }
});

Deno.test("rules: names must be points and groups of the tracer tree", () => {
  const rules = parseRules("- point: kfree_skbb\n  level: INFO\n  message: x\n", "my.yaml");
  const e = assertThrows(() => checkRuleNames(rules, new Set(["kfree_skb"]), new Set(["life"])), RuleFileError);
  assertMatch((e as Error).message, /^my\.yaml:1: point: 'kfree_skbb' is not a point of the tracer tree$/);
  checkRuleNames(parseRules("- group: '*'\n  level: INFO\n  message: x\n", "f"), new Set(), new Set());
});

Deno.test("rules: the shipped rules load and name only points of the shipped tree", () => {
  const { points, groups } = treeNames(loadTree());
  const rules = loadRules(undefined, points, groups);
  assert(rules.length >= 30, `${rules.length} rules`);
  for (const level of ["INFO", "WARN", "ERROR"]) assert(rules.some((r) => r.level === level), level);
});

Deno.test("rules: eq, ne, lt, gt and range on return values", () => {
  const t = (text: string) => parseRules(`- point: p\n  ret: ${text}\n  level: INFO\n  message: m\n`, "f")[0].ret!;
  assert(numberPasses(t("{ eq: -1 }"), -1n) && !numberPasses(t("{ eq: -1 }"), 1n));
  assert(numberPasses(t("{ ne: 0 }"), 3n) && !numberPasses(t("{ ne: 0 }"), 0n));
  assert(numberPasses(t("{ lt: 0 }"), -22n) && !numberPasses(t("{ lt: 0 }"), 0n));
  assert(numberPasses(t("{ gt: 0 }"), 1n) && !numberPasses(t("{ gt: 0 }"), 0n));
  assert(numberPasses(t("{ range: [0, 1] }"), 0n) && numberPasses(t("{ range: [0, 1] }"), 1n));
  assert(!numberPasses(t("{ range: [0, 1] }"), 2n));
  assertEquals(t("{ eq: 0x10 }"), { op: "eq", value: 16n });
});

const RULES = parseRules(
  `
- point: kfree_skb
  reason: NO_SOCKET
  proto: tcp
  level: ERROR
  message: tcp port not listened
  advice: start the service
- point: kfree_skb
  reason: [NO_SOCKET, NETFILTER_DROP]
  level: ERROR
  message: some socket or filter
- point: nf_hook_slow
  verdict: drop
  level: ERROR
  message: netfilter dropped it
- point: tcp_v4_rcv
  tcp_flags: R
  level: WARN
  message: a reset arrives
- group: life
  level: INFO
  message: any life point
- group: "*"
  addr_changed: true
  level: WARN
  message: nat
`,
  "test.yaml",
);

function d(p: Partial<DiagEvent> & { point: string }): DiagEvent {
  return { group: p.point === "kfree_skb" || p.point === "consume_skb" ? "life" : "other", addrChanged: false, ...p };
}

Deno.test("diagnoser: the first rule that matches at a point wins; group rules come in file order", () => {
  const dg = new Diagnoser(RULES);
  const msg = (e: DiagEvent) => dg.diagnose(e).map((f) => f.message);
  assertEquals(msg(d({ point: "kfree_skb", reason: "NO_SOCKET", proto: "tcp" })), ["tcp port not listened"]);
  assertEquals(msg(d({ point: "kfree_skb", reason: "NO_SOCKET", proto: "udp" })), ["some socket or filter"]);
  assertEquals(msg(d({ point: "kfree_skb", reason: "NETFILTER_DROP" })), ["some socket or filter"]);
  assertEquals(msg(d({ point: "kfree_skb", reason: "TCP_CSUM" })), ["any life point"]);
  assertEquals(msg(d({ point: "kfree_skb" })), ["any life point"]);
  assertEquals(msg(d({ point: "tcp_v4_rcv", tcpFlags: 0x14 })), ["a reset arrives"]);
  assertEquals(msg(d({ point: "tcp_v4_rcv", tcpFlags: 0x02 })), []);
  // a change rule is tried apart: an event can have its point's finding and a change finding
  assertEquals(msg(d({ point: "consume_skb", addrChanged: true })), ["any life point", "nat"]);
  assertEquals(msg(d({ point: "ip_rcv", addrChanged: true })), ["nat"]);
  // user rules come first: a rule earlier in the list shadows a later one
  const user = parseRules("- point: kfree_skb\n  level: WARN\n  message: mine\n", "user.yaml");
  assertEquals(
    new Diagnoser([...user, ...RULES]).diagnose(d({ point: "kfree_skb", reason: "NO_SOCKET" }))[0].message,
    "mine",
  );
});

Deno.test("diagnoser: tcp_state matches the state of the packet's socket, only where it has one", () => {
  const dg = new Diagnoser(
    parseRules("- point: p\n  tcp_state: [SYN_SENT, LISTEN]\n  level: INFO\n  message: m\n", "f"),
  );
  assertEquals(dg.diagnose(d({ point: "p", tcpState: "SYN_SENT" })).length, 1);
  assertEquals(dg.diagnose(d({ point: "p", tcpState: "LISTEN" })).length, 1);
  assertEquals(dg.diagnose(d({ point: "p", tcpState: "ESTABLISHED" })).length, 0);
  assertEquals(dg.diagnose(d({ point: "p" })).length, 0);
});

Deno.test("diagnoser: netfilter verdicts from nf_hook_slow and the table walkers", () => {
  assertEquals(verdictOf("nf_hook_slow", 1n), "accept");
  assertEquals(verdictOf("nf_hook_slow", BigInt.asUintN(64, -1n)), "drop");
  assertEquals(verdictOf("nf_hook_slow", 0n), "stolen");
  assertEquals(verdictOf("ipt_do_table", 0n), "drop");
  assertEquals(verdictOf("nft_do_chain_ipv4", 1n), "accept");
  assertEquals(verdictOf("ip_rcv", 0n), undefined);
  assertEquals(verdictOf("nf_hook_slow", undefined), undefined);
  assertEquals(verdictOf("nft_do_chain_inet", 3n), "queue");
  // NF_DROP_REASON: the walker freed the skb itself and returns NF_STOLEN with an errno above (6.1.0-57: 65538)
  assertEquals(verdictOf("nft_do_chain_inet", 65538n), "drop");
  assertEquals(verdictOf("nft_do_chain_bridge", (1n << 16n) | 2n), "drop");
  assertEquals(verdictOf("ipt_do_table", 2n), "stolen");
  assertEquals(verdictOf("ipt_do_table", 2n, true), "drop", "freed with a drop reason inside the walker");
  assertEquals(verdictOf("nf_hook_slow", 0n, true), "stolen", "the hook's own convention is not the walkers'");
  const dg = new Diagnoser(RULES);
  assertEquals(dg.diagnose(d({ point: "nf_hook_slow", verdict: "drop" }))[0]?.message, "netfilter dropped it");
  assertEquals(dg.diagnose(d({ point: "nf_hook_slow", verdict: "accept" })), []);
  assertEquals(dg.diagnose(d({ point: "nf_hook_slow" })), [], "no return seen: a verdict rule cannot match");
  assert(dg.wantsReturn("nf_hook_slow", "netfilter") && !dg.wantsReturn("tcp_v4_rcv", "tcp-in"));
});

/** A recorded TCP SYN event 10.0.0.1:40000 -> 10.0.0.2:port. */
function tcpEvent(point: number, tsUs: number, port: number, reason = 0): KernelEvent {
  const l3 = new Uint8Array([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const l4 = new Uint8Array(20);
  const v = new DataView(l4.buffer);
  v.setUint16(0, 40000);
  v.setUint16(2, port);
  v.setUint32(4, 1234);
  l4[12] = 0x50;
  l4[13] = 0x02;
  return recordedEvent({
    tsNs: tsUs * 1000,
    skb: 0xff00n,
    location: reason ? 0xffffffff81000010n : 0n,
    reason,
    packet: { l3Proto: 0x0800, l4Proto: 6, l3, l4 },
    ctxId: 0xff00n,
    point,
  });
}

Deno.test("analysis: a recorded DNAT to a closed port gives the NAT warning and the drop with location, reason and advice", () => {
  const points = ["netif_receive_skb_tp", "ip_rcv", "kfree_skb"];
  const groups = ["link-in", "ip-in", "life"];
  const diag = new PacketDiagnosis({
    diagnoser: new Diagnoser(RULES),
    pointName: (i) => points[i],
    pointGroup: (i) => groups[i],
    reasons: { source: "btf", names: new Map([[2, "NO_SOCKET"]]), subsystems: new Map() },
    reasonTexts: new Map([["NO_SOCKET", { area: "socket", meaning: "no socket wants it", advice: "reason advice" }]]),
    symbolize: () => "tcp_v4_rcv+0x91",
    attached: new Set([...points, "nf_hook_slow", "tcp_v4_rcv"]),
  });
  const events = [tcpEvent(0, 1, 7001), tcpEvent(1, 2, 7002), tcpEvent(2, 3, 7002, 2)];
  const r = diag.report(events);
  assertEquals(marksOf(r), ["", " *nat*", " *tcp port not listened*"]);
  assert(r.abnormal && r.error);
  assertEquals(
    analysisOf(r),
    [
      "---------------- ANALYSIS RESULT ---------------------",
      "[1] WARNING happens in ip_rcv(ip-in):",
      "\tnat",
      "",
      "[2] ERROR happens in kfree_skb(life):",
      "\ttcp port not listened",
      "    location:",
      "\ttcp_v4_rcv+0x91",
      "    drop reason:",
      "\tNO_SOCKET: no socket wants it",
      "    fix advice:",
      "\tstart the service",
      "",
      "analysis finished!",
      "",
    ].join("\n"),
  );
  // INFO findings mark lines but make no ANALYSIS RESULT
  const normal = diag.report([tcpEvent(0, 1, 7001), tcpEvent(2, 3, 7001)]);
  assertEquals(marksOf(normal), ["", " *any life point*"]);
  assertEquals([normal.abnormal, analysisOf(normal)], [false, undefined]);
});

Deno.test("analysis: rules at points this run cannot trace are named in a note", () => {
  const diag = new PacketDiagnosis({
    diagnoser: new Diagnoser(RULES),
    pointName: () => "kfree_skb",
    pointGroup: () => "life",
    reasons: { source: "btf", names: new Map([[2, "NO_SOCKET"]]), subsystems: new Map() },
    reasonTexts: new Map(),
    symbolize: () => "tcp_v4_rcv+0x91",
    attached: new Set(["kfree_skb"]),
    functionsMissing: "no kprobe, no fentry",
  });
  assertEquals(diag.notes, [
    "not checked here: 2 rules at 2 points that are not traced in this run (no kprobe, no fentry): nf_hook_slow, tcp_v4_rcv",
  ]);
  assertMatch(
    analysisOf(diag.report([tcpEvent(0, 1, 1, 2)])) ?? "",
    /\n\nnot checked here: 2 rules .*\n\nanalysis finished!\n$/,
  );
});

Deno.test("netfilter: family and hook names, nft table and chain, the x_tables table", () => {
  const base = { hooks: [], table: "", chain: "" };
  assertEquals(netfilterNote({ ...base, pf: 2, hook: 1 }), "ipv4 in chain: INPUT");
  assertEquals(netfilterNote({ ...base, pf: 10, hook: 0 }), "ipv6 in chain: PRE_ROUTING");
  assertEquals(netfilterNote({ ...base, pf: 7, hook: 4 }), "bridge in chain: POST_ROUTING");
  assertEquals(
    netfilterNote({ ...base, pf: 1, hook: 1, table: "nettrace_long_table_name", chain: "nettrace_long_input_chain" }),
    "nft table:nettrace_long_table_name, chain:nettrace_long_input_chain",
  );
  assertEquals(
    netfilterNote({ ...base, pf: 2, hook: 2, table: "filter" }),
    "iptables table:filter, ipv4 in chain: FORWARD",
  );
  assertEquals(netfilterNote({ ...base, pf: 99, hook: 9 }), "family 99 in chain: hook 9");
  // the verdict, where the function's return was seen
  const chain = { ...base, pf: 1, hook: 1, table: "t", chain: "c" };
  assertEquals(netfilterNote(chain, verdictOf("nft_do_chain_inet", 0n)), "nft table:t, chain:c, verdict: drop");
  assertEquals(
    netfilterNote({ ...base, pf: 2, hook: 1 }, verdictOf("nf_hook_slow", 1n)),
    "ipv4 in chain: INPUT, verdict: accept",
  );
  assertEquals(
    netfilterNote({ ...base, pf: 2, hook: 2, table: "filter" }, verdictOf("ipt_do_table", 2n)),
    "iptables table:filter, ipv4 in chain: FORWARD, verdict: stolen",
  );
});

Deno.test("netfilter: a record decodes, and joins the latest event of its point and skb", () => {
  const buf = new ArrayBuffer(NF_EVENT.size + 8);
  const v = new DataView(buf, 8);
  v.setBigUint64(NF_EVENT.ts, 5000n, true);
  v.setBigUint64(NF_EVENT.skb, 0xff00n, true);
  v.setBigUint64(NF_EVENT.ctx_id, 0xff00n, true);
  v.setUint32(NF_EVENT.point, 1, true);
  v.setUint8(NF_EVENT.pf, 2);
  v.setUint8(NF_EVENT.hook, 1);
  v.setUint8(NF_EVENT.n_hooks, 2);
  v.setUint16(NF_EVENT.kind, KIND.nf, true);
  v.setBigUint64(NF_EVENT.hooks, 0xffffffff81000100n, true);
  v.setBigUint64(NF_EVENT.hooks + 8, 0xffffffff81000200n, true);
  new Uint8Array(buf, 8 + NF_EVENT.table).set(new TextEncoder().encode("filter"));
  assertEquals(recordKind(v, 0), KIND.nf);
  const nf = decodeNetfilter(v, 0, NF_EVENT.size);
  assertEquals(nf, {
    tsNs: 5000,
    skb: 0xff00n,
    ctxId: 0xff00n,
    point: 1,
    info: { pf: 2, hook: 1, hooks: [0xffffffff81000100n, 0xffffffff81000200n], table: "filter", chain: "" },
  });
  assertThrows(() => decodeNetfilter(v, 0, NF_EVENT.size - 1), Error);
  const t = new ContextTracker(1e9);
  t.add(tcpEvent(1, 1, 7001), false);
  t.add(tcpEvent(1, 2, 7001), false);
  assert(t.addNetfilter(1, 0xff00n, 0xff00n, nf.info));
  assert(!t.addNetfilter(1, 0xff00n, 0xabcdn, nf.info), "no such context");
  const [b] = t.flush();
  assertEquals([b.events[0].nf, b.events[1].nf?.table], [undefined, "filter"]);
});

function shippedRules() {
  const { points, groups } = treeNames(loadTree());
  return loadRules(undefined, points, groups);
}

Deno.test("verdicts: a table walker's NF_STOLEN around a free with a drop reason is a drop, in lines and findings", () => {
  const names = ["nft_do_chain_inet", "kfree_skb", "consume_skb"];
  const reasons = {
    source: "btf" as const,
    names: new Map([[1, "CONSUMED"], [6, "NETFILTER_DROP"]]),
    subsystems: new Map(),
  };
  const nf = { pf: 2, hook: 1, hooks: [], table: "nettrace_long_table_name", chain: "nettrace_long_input_chain" };
  // entry at 1 us, the walker returns NF_STOLEN (2) at 5 us; the free lies inside (3 us) or after (7 us)
  const walk = (ret: bigint) => ({ ...tcpEvent(0, 1, 7001), ret, retNs: 5000, nf });
  const free = (tsUs: number, reason: number) => tcpEvent(reason === 1 ? 2 : 1, tsUs, 7001, reason);
  const diag = new PacketDiagnosis({
    diagnoser: new Diagnoser(shippedRules()),
    pointName: (i) => names[i],
    pointGroup: (i) => ["netfilter", "life", "life"][i],
    reasons,
    reasonTexts: new Map(),
    symbolize: () => "nft_do_chain+0x47f",
    attached: new Set(names),
    showHooks: false,
  });
  const lineCtx = {
    time: new TimestampFormatter(false, 0),
    pointName: (i: number) => names[i],
    detail: false,
    freedWithDropReason: (ev: KernelEvent) => ev.reason === 6,
  };
  const nftLine = (events: KernelEvent[]) =>
    formatBlock({ skbs: [0xff00n], events, complete: true }, lineCtx).split("\n")[1];
  const cases: Array<[string, KernelEvent[], string]> = [
    ["errno above NF_STOLEN", [walk(65538n), free(3, 6)], "drop"],
    ["plain NF_STOLEN, freed inside with NETFILTER_DROP", [walk(2n), free(3, 6)], "drop"],
    ["plain NF_STOLEN, freed after the walker returned", [walk(2n), free(7, 6)], "stolen"],
    ["plain NF_STOLEN, consumed inside", [walk(2n), free(3, 1)], "stolen"],
    ["NF_DROP", [walk(0n), free(3, 6)], "drop"],
  ];
  for (const [what, events, verdict] of cases) {
    assertMatch(nftLine(events), new RegExp(`chain:nettrace_long_input_chain, verdict: ${verdict}\\*`), what);
    const found = marksOf(diag.report(events))[0].includes("dropped by iptables/iptables-nft");
    assertEquals(found, verdict === "drop", what);
  }
  // the raw return stays on the line (--ret)
  assertMatch(nftLine([walk(65538n), free(3, 6)]), /, ret: 65538 /);
});

Deno.test("analysis: --hooks names the hook functions under a netfilter finding", () => {
  const rules = parseRules("- point: nf_hook_slow\n  verdict: drop\n  level: ERROR\n  message: nf drop\n", "f");
  const syms: Record<string, string> = {
    "18446744071578845440": "nft_do_chain_inet+0x0",
    "18446744071578845696": "ipv4_conntrack_in+0x0",
  };
  const diag = new PacketDiagnosis({
    diagnoser: new Diagnoser(rules),
    pointName: () => "nf_hook_slow",
    pointGroup: () => "netfilter",
    reasons: { source: "none", names: new Map(), subsystems: new Map() },
    reasonTexts: new Map(),
    symbolize: (a) => syms[String(a)] ?? "?",
    attached: new Set(["nf_hook_slow"]),
    showHooks: true,
  });
  const e = {
    ...tcpEvent(0, 1, 7001),
    ret: BigInt.asUintN(64, -1n),
    nf: { pf: 2, hook: 1, hooks: [0xffffffff81000100n, 0xffffffff81000200n], table: "", chain: "" },
  };
  assertMatch(
    analysisOf(diag.report([e]))!,
    /^-+ ANALYSIS RESULT -+\n\[1\] ERROR happens in nf_hook_slow\(netfilter\):\n\tnf drop\n\n {4}following hook functions are blamed:\n\tnft_do_chain_inet\n\tipv4_conntrack_in\n\n/,
  );
});

Deno.test("analysis: without drop reasons (before 5.17) a free is diagnosed by its location, and the reason rules are said to be unavailable", () => {
  const names = ["ip_rcv", "kfree_skb"];
  const rules = shippedRules();
  const setup = (source: "none" | "btf", where: string) => ({
    diagnoser: new Diagnoser(rules),
    pointName: (i: number) => names[i],
    pointGroup: (i: number) => ["ip-in", "life"][i],
    reasons: { source, names: new Map([[2, "NOT_SPECIFIED"]]), subsystems: new Map() },
    reasonTexts: new Map(),
    symbolize: () => `${where}+0x93`,
    attached: new Set(names),
  });
  // a SYN freed in tcp_v4_rcv with no reason, as Debian 11's 5.10 reports it
  const bare = (where: string) => {
    const diag = new PacketDiagnosis(setup("none", where));
    const free = { ...tcpEvent(1, 2, 9), location: 0xffffffff81000093n, reason: 0 };
    return { diag, r: diag.report([tcpEvent(0, 1, 9), free]) };
  };
  const { diag, r } = bare("tcp_v4_rcv");
  const reasonRules = rules.filter((x) => x.reasons && !x.points.includes("tcp_send_active_reset")).length;
  assert(reasonRules >= 10, `${reasonRules} reason rules`);
  assertEquals(
    diag.notes[0],
    `not available on this kernel: ${reasonRules} rules on drop reasons (kernels before 5.17 name none); ` +
      "a drop's finding comes from where the skb was freed and from return values",
  );
  assertMatch(
    analysisOf(r) ?? "",
    /ERROR happens in kfree_skb\(life\):\n\tTCP dropped the SYN on receive: most often no socket listens[^\n]*\n {4}location:\n\ttcp_v4_rcv\+0x93\n {4}fix advice:\n\tcheck that the service listens/,
  );
  assert(!analysisOf(r)?.includes("drop reason:"), analysisOf(r));
  assertMatch(analysisOf(r) ?? "", /\n\nnot available on this kernel: /);
  // a netfilter verdict's free, and a place no rule knows: the generic drop, still with its location
  assertMatch(
    marksOf(bare("nf_hook_slow").r)[1],
    /packet is dropped by netfilter \(freed where a hook's verdict is NF_DROP\)/,
  );
  assertMatch(
    analysisOf(bare("sk_filter_trim_cap").r) ?? "",
    /packet is dropped by kernel\n {4}location:\n\tsk_filter_trim_cap\+0x93/,
  );
  // a kernel that names reasons: the location rules stay out of the way of a reason's rule
  const named = new PacketDiagnosis(setup("btf", "tcp_v4_rcv"));
  assertEquals(named.notes.filter((n) => n.startsWith("not available")), []);
  const withReason = named.report([tcpEvent(0, 1, 9), { ...tcpEvent(1, 2, 9, 2) }]);
  // NOT_SPECIFIED in tcp_v4_rcv: on 6.1 how TCP ends a segment it handled (TIME_WAIT), a finding of its own
  assertMatch(marksOf(withReason)[1], /TCP freed a segment it had handled/);
  const elsewhere = new PacketDiagnosis(setup("btf", "ip_rcv_finish_core"));
  const other = elsewhere.report([tcpEvent(0, 1, 9), { ...tcpEvent(1, 2, 9, 2) }]);
  assertMatch(marksOf(other)[1], /freed by the kernel without a reason given/);
});
