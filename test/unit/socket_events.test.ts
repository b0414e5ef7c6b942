/**
 * Socket events (pure): the record decoded, the line printed, the blocks per
 * socket, the reset reasons read from a kernel's format file or BTF enum,
 * and their diagnosis (congestion states, undone reductions, a reset's
 * reason, the rule fields that test them).
 */
import { analysisOf, marksOf } from "../helpers/report_text.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { recordedSocket } from "../helpers/recorded_event.ts";
import { decodeSocket, pointValue, recordKind } from "../../src/event/decode.ts";
import { socketValue } from "../../src/event/socket_value.ts";
import { CA_NONE, KIND, SOCK_EVENT, SOCK_FLAG } from "../../src/event/layout.ts";
import { formatSocket, formatSocketBlock } from "../../src/output/socket_line.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import { SocketTracker } from "../../src/life/socket_tracker.ts";
import { resetReasonsFromEnum, resetReasonsFromFormat } from "../../src/event/reset_reasons.ts";
import { socketDiagEvent, undidReduction } from "../../src/diag/packet_diagnosis.ts";
import { Diagnoser } from "../../src/diag/diagnoser.ts";
import { parseRules } from "../../src/diag/rules.ts";
import { RuleFileError } from "../../src/diag/rule_file_error.ts";
import { PacketDiagnosis } from "../../src/diag/packet_report.ts";
import { loadRules } from "../../src/diag/rules_source.ts";
import { loadTree } from "../../src/tracer/tree_source.ts";
import { treeNames } from "../../src/tracer/tree.ts";

/** A struct nt_sock_event as the kernel writes it, 8 bytes into a buffer. */
function record(v6: boolean): { view: DataView; off: number } {
  const off = 8;
  const buf = new ArrayBuffer(off + SOCK_EVENT.size);
  const v = new DataView(buf);
  const b = new Uint8Array(buf, off);
  v.setBigUint64(off + SOCK_EVENT.ts, 7_000_123_456n, true);
  v.setBigUint64(off + SOCK_EVENT.sk, 0xffff888102eb8940n, true);
  v.setUint32(off + SOCK_EVENT.point, 3, true);
  v.setUint32(off + SOCK_EVENT.rst_reason, 11, true);
  v.setInt32(off + SOCK_EVENT.stack_id, -1, true);
  v.setUint32(off + SOCK_EVENT.packets_out, 2, true);
  v.setUint16(off + SOCK_EVENT.family, v6 ? 10 : 2, true);
  v.setUint8(off + SOCK_EVENT.state, 1);
  v.setUint8(off + SOCK_EVENT.ca_state, 4);
  v.setUint16(off + SOCK_EVENT.kind, KIND.sock, true);
  if (v6) {
    b.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], SOCK_EVENT.saddr);
    b.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], SOCK_EVENT.daddr);
  } else {
    b.set([10, 232, 1, 1], SOCK_EVENT.saddr);
    b.set([10, 232, 2, 1], SOCK_EVENT.daddr);
  }
  v.setUint16(off + SOCK_EVENT.sport, 40000, true);
  v.setUint16(off + SOCK_EVENT.dport, 7304, true);
  v.setUint8(off + SOCK_EVENT.new_ca_state, 0);
  v.setUint8(off + SOCK_EVENT.flags, SOCK_FLAG.undoCleared);
  v.setUint8(off + SOCK_EVENT.retransmits, 1);
  v.setUint32(off + SOCK_EVENT.retrans_out, 1, true);
  v.setUint32(off + SOCK_EVENT.total_retrans, 5, true);
  v.setUint32(off + SOCK_EVENT.snd_cwnd, 1, true);
  v.setUint32(off + SOCK_EVENT.srtt_us, 120, true);
  v.setUint32(off + SOCK_EVENT.rto, 51, true);
  v.setUint8(off + SOCK_EVENT.protocol, 6);
  return { view: v, off };
}

Deno.test("socket record: decoded field by field, IPv4 and IPv6", () => {
  const { view, off } = record(false);
  assertEquals(recordKind(view, off), KIND.sock);
  const ev = decodeSocket(view, off, SOCK_EVENT.size);
  assertEquals(ev.tsNs, 7_000_123_456);
  assertEquals(ev.sk, 0xffff888102eb8940n);
  assertEquals([ev.point, ev.rstReason, ev.stackId, ev.family], [3, 11, -1, 4]);
  assertEquals([ev.saddr, ev.sport, ev.daddr, ev.dport], ["10.232.1.1", 40000, "10.232.2.1", 7304]);
  assertEquals([ev.state, ev.caState, ev.newCaState, ev.undoCleared], [1, 4, 0, true]);
  assertEquals([ev.retransmits, ev.packetsOut, ev.retransOut, ev.totalRetrans], [1, 2, 1, 5]);
  assertEquals([ev.sndCwnd, ev.srttUs, ev.rtoJiffies], [1, 120, 51]);
  assertEquals([ev.protocol, ev.rawValue], [6, undefined], "no value without its flag");
  view.setUint32(off + SOCK_EVENT.value, 0xfffffff5, true);
  view.setUint8(off + SOCK_EVENT.flags, SOCK_FLAG.value);
  assertEquals(decodeSocket(view, off, SOCK_EVENT.size).rawValue, 0xfffffff5);
  const six = record(true);
  const e6 = decodeSocket(six.view, six.off, SOCK_EVENT.size);
  assertEquals([e6.family, e6.saddr, e6.daddr], [6, "fd00::1", "fd00::2"]);
  six.view.setUint8(six.off + SOCK_EVENT.new_ca_state, CA_NONE);
  assertEquals(decodeSocket(six.view, six.off, SOCK_EVENT.size).newCaState, undefined);
  let threw = false;
  try {
    decodeSocket(view, off, SOCK_EVENT.size - 8);
  } catch {
    threw = true;
  }
  assert(threw, "a short record is refused");
});

Deno.test("socket line: connection, states, counters, the RTO in time (or jiffies), a reset's reason", () => {
  const ev = recordedSocket({
    state: 2,
    caState: 0,
    newCaState: 4,
    packetsOut: 1,
    lostOut: 1,
    sndCwnd: 1,
    rtoJiffies: 250,
    retransmits: 1,
  });
  assertEquals(
    formatSocket(ev, { hz: 250 }),
    "TCP: 10.0.0.1:40000 -> 10.0.0.2:4444 SYN_SENT CA_Open->CA_Loss out:1 retrans:0 total_retrans:0 lost:1 cwnd:1 srtt:0ms rto:1.000s timeouts:1",
  );
  assertMatch(formatSocket(ev, {}), / rto:250 jiffies /);
  const reset = recordedSocket({
    state: 7,
    rstReason: 11,
    srttUs: 120,
    rtoJiffies: 51,
    family: 6,
    saddr: "fd00::1",
    daddr: "fd00::2",
  });
  assertEquals(
    formatSocket(reset, { hz: 250, resetReason: (v) => (v === 11 ? "TCP_ABORT_ON_CLOSE" : undefined) }),
    "TCP: [fd00::1]:40000 -> [fd00::2]:4444 CLOSE CA_Open out:0 retrans:0 total_retrans:0 cwnd:10 srtt:0.12ms rto:204ms reset: TCP_ABORT_ON_CLOSE",
  );
  const block = formatSocketBlock({ sk: 0xffff8881n, events: [ev] }, {
    time: new TimestampFormatter(false, 0),
    pointName: () => "tcp_cong_state_set",
    detail: false,
    hz: 250,
  }, [["mark"]]);
  assertMatch(block, /^\*{17} sock ffff8881 \*{15}\n\[[0-9.]+\] \[tcp_cong_state_set {2}\] TCP: .* \*mark\*\n$/);
});

Deno.test("socket blocks: a socket's events close together are one block, printed once it is quiet", () => {
  const t = new SocketTracker(200);
  const a = 1n, b = 2n;
  t.add(recordedSocket({ sk: a, tsNs: 1000, point: 1 }));
  t.add(recordedSocket({ sk: b, tsNs: 1050 }));
  t.add(recordedSocket({ sk: a, tsNs: 1100, point: 2 }));
  assertEquals(t.size, 2);
  assertEquals(t.expire(1249), [], "both are still busy");
  const first = t.expire(1260);
  assertEquals(first.map((x) => x.sk), [b], "b was quiet for 200");
  assertEquals(t.expire(1300).map((x) => [x.sk, x.events.map((e) => e.point)]), [[a, [1, 2]]]);
  t.add(recordedSocket({ sk: a, tsNs: 5000 }));
  assertEquals(t.flush().map((x) => x.sk), [a], "at exit everything goes");
  assertEquals(t.size, 0);
});

Deno.test("reset reasons: from the kernel's BTF enum or the tcp_send_reset format; none on older kernels", () => {
  const fromEnum = resetReasonsFromEnum(
    new Map([[0, "SK_RST_REASON_NOT_SPECIFIED"], [11, "SK_RST_REASON_TCP_ABORT_ON_CLOSE"], [25, "SK_RST_REASON_MAX"]]),
  );
  assertEquals([...fromEnum], [[0, "NOT_SPECIFIED"], [11, "TCP_ABORT_ON_CLOSE"]]);
  const format = `name: tcp_send_reset
format:
\tfield:enum sk_rst_reason reason;\toffset:28;\tsize:4;\tsigned:0;

print fmt: "skbaddr=%p state=%s reason=%s", REC->skbaddr, __print_symbolic(REC->state, { TCP_ESTABLISHED, "TCP_ESTABLISHED" }), __print_symbolic(REC->reason, { 0, "NOT_SPECIFIED" }, { 1, "NO_SOCKET" }, { 11, "TCP_ABORT_ON_CLOSE" }, { 25, "MAX" })
`;
  assertEquals([...resetReasonsFromFormat(format)], [[0, "NOT_SPECIFIED"], [1, "NO_SOCKET"], [
    11,
    "TCP_ABORT_ON_CLOSE",
  ]]);
  const old = "name: tcp_send_reset\nformat:\n\tfield:int state;\toffset:24;\tsize:4;\tsigned:1;\n";
  assertEquals(resetReasonsFromFormat(old).size, 0);
});

const ctx = {
  pointName: (i: number) => ["tcp_cong_state_set", "tcp_send_active_reset", "tcp_receive_reset"][i],
  pointGroup: () => "tcp-state",
  reasonName: () => undefined,
  resetReasonName: (v: number) => (v === 11 ? "TCP_ABORT_ON_CLOSE" : undefined),
};

Deno.test("socket diagnosis: an undone reduction is Recovery or Loss back to Open with the undo marker cleared", () => {
  const undo = recordedSocket({ caState: 4, newCaState: 0, undoCleared: true });
  assert(undidReduction(undo));
  assert(undidReduction({ ...undo, caState: 3 }));
  assert(!undidReduction({ ...undo, undoCleared: false }), "a normal end keeps the marker");
  assert(!undidReduction({ ...undo, caState: 2 }), "CWR is not a loss");
  assert(!undidReduction({ ...undo, newCaState: 1 }));
  assert(!undidReduction({ ...undo, state: 7 }), "a closed socket starts over");
  assertEquals(socketDiagEvent(undo, ctx), {
    point: "tcp_cong_state_set",
    group: "tcp-state",
    reason: undefined,
    proto: "tcp",
    tcpState: "ESTABLISHED",
    caState: "Open",
    undone: true,
    addrChanged: false,
  });
  const reset = socketDiagEvent(recordedSocket({ point: 1, rstReason: 11, state: 7 }), ctx);
  assertEquals([reset.point, reset.reason, reset.tcpState, reset.caState], [
    "tcp_send_active_reset",
    "TCP_ABORT_ON_CLOSE",
    "CLOSE",
    "Open",
  ]);
});

Deno.test("rules: ca_state and undone are checked and matched", () => {
  const bad = (text: string) => {
    try {
      parseRules(text, "my.yaml");
    } catch (e) {
      if (e instanceof RuleFileError) return `${e.line}:${e.field}`;
      throw e;
    }
    return "parsed";
  };
  assertEquals(bad("- point: x\n  ca_state: Lost\n  level: INFO\n  message: y\n"), "2:ca_state");
  assertEquals(bad("- point: x\n  undone: yes please\n  level: INFO\n  message: y\n"), "2:undone");
  const d = new Diagnoser(parseRules(
    `- point: tcp_cong_state_set
  undone: true
  level: WARN
  message: spurious
- point: tcp_cong_state_set
  ca_state: [Recovery, Loss]
  level: WARN
  message: lossy
- point: tcp_send_active_reset
  reason: SK_RST_REASON_TCP_ABORT_ON_CLOSE
  level: WARN
  message: unread
`,
    "r.yaml",
  ));
  const find = (ev: Parameters<typeof socketDiagEvent>[0]) =>
    d.diagnose(socketDiagEvent(ev, ctx)).map((f) => f.message);
  assertEquals(find(recordedSocket({ caState: 4, newCaState: 0, undoCleared: true })), ["spurious"]);
  assertEquals(find(recordedSocket({ caState: 0, newCaState: 3 })), ["lossy"]);
  assertEquals(find(recordedSocket({ caState: 3, newCaState: 0 })), [], "a normal end of recovery says nothing");
  assertEquals(find(recordedSocket({ point: 1, rstReason: 11 })), ["unread"], "SK_RST_REASON_ is taken off");
  assertEquals(find(recordedSocket({ point: 1 })), []);
});

Deno.test("socket diagnosis with the shipped rules: the ANALYSIS RESULT names the reset's reason", () => {
  const { points, groups } = treeNames(loadTree());
  const pd = new PacketDiagnosis({
    diagnoser: new Diagnoser(loadRules(undefined, points, groups)),
    pointName: ctx.pointName,
    pointGroup: ctx.pointGroup,
    reasons: { source: "none", names: new Map(), subsystems: new Map() },
    reasonTexts: new Map(),
    symbolize: (a) => `0x${a.toString(16)}`,
    attached: new Set(points),
    resetReasonName: ctx.resetReasonName,
  });
  const r = pd.reportSocket([recordedSocket({ point: 1, rstReason: 11, state: 7 })]);
  assert(r.abnormal && !r.error);
  assertEquals(marksOf(r), [" *the application closed the socket with unread data: the kernel reset the connection*"]);
  assertMatch(
    analysisOf(r)!,
    /\[1\] WARNING happens in tcp_send_active_reset\(tcp-state\):\n\tthe application closed the socket with unread data: the kernel reset the connection\n {4}reset reason:\n\tTCP_ABORT_ON_CLOSE\n {4}fix advice:\n\tread everything/,
  );
  const old = pd.reportSocket([recordedSocket({ point: 1, state: 7 })]);
  assertMatch(
    analysisOf(old)!,
    /the application reset the connection: it closed with unread data, with SO_LINGER 0, or aborted/,
  );
  assert(!/reset reason/.test(analysisOf(old)!), "no reason where the kernel gives none");
  const refused = pd.reportSocket([recordedSocket({ point: 2, state: 2 })]);
  assertMatch(analysisOf(refused)!, /the connection was refused/);
  const quiet = pd.reportSocket([recordedSocket({ caState: 3, newCaState: 0 })]);
  assertEquals([quiet.abnormal, analysisOf(quiet), marksOf(quiet)], [false, undefined, [""]]);
});

Deno.test("socket point values: cut to the field's size and sign; state and bytes in the line; other protocols", () => {
  assertEquals(pointValue(0xfffffff5, { size: 4, signed: true }), -11);
  assertEquals(pointValue(0xfffffff5, { size: 4, signed: false }), 0xfffffff5);
  assertEquals(pointValue(0x12345678, { size: 2, signed: false }), 0x5678);
  assertEquals(pointValue(0x000000ff, { size: 1, signed: true }), -1);
  assertEquals(pointValue(0xfffffff5, { size: 8, signed: true }), -11, "a function's argument: its low 32 bits");
  const state = recordedSocket({ state: 2, rawValue: 1 });
  const asState = { size: 4, signed: true, is: "state" as const };
  assertEquals(socketValue(state, asState), { is: "state", state: 1 });
  assertEquals(socketValue(recordedSocket(), asState), undefined, "the event carries no value");
  assertEquals(
    formatSocket(state, { value: (e) => socketValue(e, asState) }),
    "TCP: 10.0.0.1:40000 -> 10.0.0.2:4444 SYN_SENT->ESTABLISHED CA_Open out:0 retrans:0 total_retrans:0 cwnd:10 srtt:0ms",
  );
  const asBytes = { size: 4, signed: true, is: "bytes" as const };
  assertMatch(
    formatSocket(recordedSocket({ rawValue: 1000 }), { value: (e) => socketValue(e, asBytes) }),
    /ESTABLISHED CA_Open bytes:1000 out:0 /,
  );
  assertMatch(
    formatSocket(recordedSocket({ rawValue: 0xffffffe0 }), { value: (e) => socketValue(e, asBytes) }),
    / error:-32 \(EPIPE\) /,
  );
  const udp = recordedSocket({ protocol: 17, state: 7, rawValue: 64, sndCwnd: 0 });
  assertEquals(
    formatSocket(udp, { value: (e) => socketValue(e, asBytes) }),
    "UDP: 10.0.0.1:40000 -> 10.0.0.2:4444 bytes:64",
  );
});
