import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import {
  DEFAULT_RING_SIZE,
  helpText,
  minLatencyNotice,
  OPTION_TABLE,
  parseArgs,
  STORM_RING_SIZE,
} from "../../src/cli/options.ts";
import { HostError, UsageError } from "../../src/errors.ts";
import { resolveTransport } from "../../src/bpf/event_transport.ts";
import { perfPagesPerCpu } from "../../lib/ffi/ring_reader.ts";

Deno.test("options: filters parse into the kernel filter", () => {
  const o = parseArgs([
    "--drop",
    "-s",
    "10.0.0.1",
    "--daddr=fd00::2",
    "-S",
    "80",
    "-D443",
    "--port",
    "22",
    "--pid",
    "42",
  ]);
  assertEquals(o.mode, "drop");
  assertEquals(o.filter.saddr, { family: 4, bytes: new Uint8Array([10, 0, 0, 1]) });
  assertEquals(o.filter.daddr?.family, 6);
  assertEquals([o.filter.sport, o.filter.dport, o.filter.port, o.filter.pid], [80, 443, 22, 42]);
});

Deno.test("options: a filter expression is -e EXPR or the words after the options, as with tcpdump", () => {
  assertEquals(parseArgs(["--drop", "udp", "and", "dst", "port", "5353"]).filterExpr, "udp and dst port 5353");
  assertEquals(parseArgs(["--drop", "tcp port 80", "-p", "tcp"]).filterExpr, "tcp port 80");
  assertEquals(parseArgs(["-e", "icmp", "--diag"]).filterExpr, "icmp");
  assertEquals(parseArgs(["--filter-expr=ip6"]).filterExpr, "ip6");
  // sockets too: a socket is taken when its connection, as headers, passes the expression
  assertEquals(parseArgs(["--sock", "tcp port 80"]).filterExpr, "tcp port 80");
  assertEquals(parseArgs(["--drop"]).filterExpr, undefined);
});

Deno.test("options: -p maps names to ethertype or IP protocol", () => {
  assertEquals(parseArgs(["--drop", "-p", "tcp"]).filter, { l4Proto: 6 });
  assertEquals(parseArgs(["--drop", "-p", "UDP"]).filter, { l4Proto: 17 });
  assertEquals(parseArgs(["--drop", "-p", "icmp"]).filter, { l3Proto: 0x0800, l4Proto: 1 });
  assertEquals(parseArgs(["--drop", "-p", "icmpv6"]).filter, { l3Proto: 0x86dd, l4Proto: 58 });
  assertEquals(parseArgs(["--drop", "-p", "arp"]).filter, { l3Proto: 0x0806 });
  assertEquals(parseArgs(["--drop", "-p", "ipv6"]).filter, { l3Proto: 0x86dd });
});

Deno.test("options: defaults, count, netns, ring size and reader", () => {
  const d = parseArgs(["--drop"]);
  assertEquals([d.count, d.detail, d.date, d.dropStack, d.ringSize, d.ringReader], [
    undefined,
    false,
    false,
    false,
    STORM_RING_SIZE,
    "mmap",
  ]);
  // the storm limit keeps a storm out of the ring: without it, and in the lifecycle mode, the larger ring
  assertEquals(parseArgs(["--drop", "--no-storm-limit"]).ringSize, DEFAULT_RING_SIZE);
  assertEquals(parseArgs(["-p", "icmp"]).ringSize, DEFAULT_RING_SIZE);
  const o = parseArgs([
    "--drop-stack",
    "-c",
    "5",
    "--netns",
    "4026531840",
    "--ring-size",
    "64",
    "--ring-reader",
    "callback",
    "--detail",
    "--date",
  ]);
  assertEquals([o.mode, o.dropStack, o.count, o.filter.netns, o.ringSize, o.ringReader, o.detail, o.date], [
    "drop",
    true,
    5,
    4026531840,
    65536,
    "callback",
    true,
    true,
  ]);
  assertEquals(parseArgs(["--drop", "--netns-current"]).netnsCurrent, true);
  assertEquals(parseArgs(["--debug", "--check"]).debug, true);
});

Deno.test("options: bad input is a UsageError naming the option", () => {
  const cases: Array<[string[], string]> = [
    [["--drop", "-s", "300.1.1.1"], "-s: '300.1.1.1' is not an IPv4 or IPv6 address"],
    [["--drop", "-P", "abc"], "-P: 'abc' is not a port number"],
    [["--drop", "-D", "70000"], "-D: port 70000 is out of range (1-65535)"],
    [["--drop", "-p", "xyz"], "-p: unknown protocol 'xyz'"],
    [["--drop", "--pid", "-1"], "--pid: '-1' is not a whole number"],
    [["--drop", "-c", "0"], "-c: 0 is out of range"],
    [["--drop", "--ring-size", "2"], "--ring-size: 2 is out of range"],
    [["--drop", "--ring-size", "48"], "--ring-size: 48 KiB is not a power of two"],
    [["--drop", "--ring-reader", "poll"], "--ring-reader: 'poll' is not 'mmap' or 'callback'"],
    [["--drop", "-x"], "unknown option '-x'"],
    [["--drop", "--detail=yes"], "--detail takes no value"],
    [["--drop", "--saddr"], "--saddr needs a value (ADDR)"],
    [["--drop", "-e", "tcp", "udp"], "the filter expression is given twice: -e 'tcp' and 'udp'"],
    [["--drop", "-e", "tcp", "-e", "udp"], "-e: the filter expression is given twice"],
    [["--check", "udp"], "unexpected --check argument 'udp': a filter expression is for tracing"],
    [["--func-stats", "-e", "tcp"], "--func-stats counts every call of the traced points: packet filters do not apply"],
    [["--check", "--drop"], "--drop cannot be combined with --check"],
    [["--netns", "5", "--netns-current", "--drop"], "--netns and --netns-current cannot be combined"],
    [["--sock", "--drop"], "--drop cannot be combined with --sock: they are different modes"],
    [["--sock", "--diag"], "--diag is about packets: --sock traces sockets, it cannot be combined with it"],
    [["--sock", "-w", "x.pcapng"], "-w is about packets: --sock traces sockets, it cannot be combined with it"],
    [
      ["--sock", "--pkt-len", "100"],
      "--pkt-len is about packets: --sock traces sockets, it cannot be combined with it",
    ],
    [["--sock", "--ret"], "--ret is about packets: --sock traces sockets, it cannot be combined with it"],
    [["--sock", "--func-stats"], "--func-stats counts calls, it shows no packets: it cannot be combined with --sock"],
    [
      ["--sock", "--latency-show"],
      "--latency-show is for the blocks of lifecycle tracing (not --drop, --basic, --func-stats)",
    ],
    [["--sock", "--trace-matcher", "ip_rcv"], "--trace-matcher is for lifecycle tracing (and --diag)"],
  ];
  for (const [argv, msg] of cases) assertThrows(() => parseArgs(argv), UsageError, msg);
});

/**
 * The options a user types, written out here rather than taken from the
 * option table: a renamed, lost or undocumented option fails this list.
 * [short, long, value placeholder in -h]
 */
const USER_OPTIONS: Array<[string | undefined, string, string | undefined]> = [
  ["s", "saddr", "ADDR"],
  ["d", "daddr", "ADDR"],
  [undefined, "addr", "ADDR"],
  ["S", "sport", "PORT"],
  ["D", "dport", "PORT"],
  ["P", "port", "PORT"],
  ["p", "proto", "PROTO"],
  [undefined, "netns", "INODE"],
  [undefined, "netns-current", undefined],
  [undefined, "pid", "PID"],
  [undefined, "ret", undefined],
  [undefined, "diag", undefined],
  [undefined, "diag-keep", undefined],
  [undefined, "diag-quiet", undefined],
  [undefined, "hooks", undefined],
  [undefined, "rules", "FILE"],
  [undefined, "all-skb-functions", undefined],
  [undefined, "trace-stack", "LIST"],
  [undefined, "tcp-flags", "FLAGS"],
  [undefined, "pkt-len", "RANGE"],
  ["e", "filter-expr", "EXPR"],
  [undefined, "min-latency", "US"],
  [undefined, "rate-limit", "RATE"],
  [undefined, "storm-limit", "RATE"],
  [undefined, "no-storm-limit", undefined],
  ["c", "count", "N"],
  ["t", "trace", "LIST"],
  [undefined, "trace-regex", "REGEX"],
  [undefined, "trace-matcher", "LIST"],
  [undefined, "trace-noclone", undefined],
  [undefined, "trace-free", "LIST"],
  [undefined, "latency-show", undefined],
  [undefined, "latency-free", undefined],
  [undefined, "latency-summary", undefined],
  [undefined, "latency", undefined],
  [undefined, "pkt-fixed", undefined],
  [undefined, "func-stats", undefined],
  [undefined, "interval", "SECONDS"],
  [undefined, "trace-exclude", "LIST"],
  [undefined, "basic", undefined],
  [undefined, "force", undefined],
  [undefined, "drop", undefined],
  [undefined, "sock", undefined],
  [undefined, "monitor", undefined],
  [undefined, "metrics", "ADDR:PORT"],
  [undefined, "tiny-show", undefined],
  [undefined, "rtt", undefined],
  [undefined, "rtt-detail", undefined],
  [undefined, "filter-srtt", "MS"],
  [undefined, "filter-minrtt", "MS"],
  [undefined, "tcp-rtt", "MS"],
  [undefined, "tcp-srtt", "MS"],
  [undefined, "drop-stack", undefined],
  [undefined, "detail", undefined],
  [undefined, "json", undefined],
  ["o", "output", "FILE"],
  [undefined, "output-truncate", undefined],
  [undefined, "output-rotate", "SIZE,N"],
  ["w", "write", "FILE"],
  [undefined, "snaplen", "BYTES"],
  [undefined, "date", undefined],
  [undefined, "check", undefined],
  [undefined, "btf", "FILE"],
  [undefined, "ring-size", "KIB"],
  [undefined, "ring-reader", "KIND"],
  [undefined, "transport", "KIND"],
  [undefined, "attach-method", "METHOD"],
  ["v", "verbose", undefined],
  [undefined, "debug", undefined],
  ["h", "help", undefined],
  ["V", "version", undefined],
];

Deno.test("options: -h has one line per option a user types, with a meaning, and nothing else", () => {
  const h = helpText();
  const lines = h.split("\n").filter((l) => /^ +(-\w, )?--[a-z]/.test(l));
  for (const [short, long, value] of USER_OPTIONS) {
    const re = new RegExp(`^ +${short ? `-${short}, ` : " {4}"}--${long}${value ? ` ${value}` : ""} +(\\S.{9,})$`, "m");
    const m = h.match(re);
    assert(m, `-h has no line for ${short ? `-${short}, ` : ""}--${long}${value ? ` ${value}` : ""}:\n${h}`);
  }
  assertEquals(lines.length, USER_OPTIONS.length, `-h lists options this test does not know:\n${lines.join("\n")}`);
  // and each is accepted (the value-less ones alone, where a mode allows)
  for (const [short, long] of USER_OPTIONS) {
    assert(OPTION_TABLE.some((o) => o.long === long && o.short === short), `--${long} is not in the option table`);
  }
});

Deno.test("options: the C nettrace's --btf-path is --btf, also for explain; -h and the completions say so", () => {
  assertEquals(parseArgs(["--btf-path", "/tmp/vmlinux.btf", "--check"]).btf, "/tmp/vmlinux.btf");
  assertEquals(parseArgs(["--btf-path=/tmp/x"]).btf, "/tmp/x");
  assertEquals(parseArgs(["explain", "--list", "--btf-path", "/tmp/y"]).btf, "/tmp/y");
  assertMatch(helpText(), /^ {8}--btf FILE .*\(also --btf-path\)$/m);
});

Deno.test("options: --min-latency takes microseconds, as in the C nettrace; a value under a millisecond says so", () => {
  assertEquals(parseArgs(["-p", "icmp", "--min-latency", "1500"]).minLatencyUs, 1500);
  assertEquals(minLatencyNotice(1500), undefined);
  assertMatch(
    minLatencyNotice(300)!,
    /--min-latency 300 keeps packets that lived at least 300 µs .*--min-latency 300000\)$/,
  );
  assertEquals(minLatencyNotice(undefined), undefined);
});

Deno.test("options: --transport is auto, ringbuf or perf; auto takes the ring buffer where the kernel has one", () => {
  assertEquals(parseArgs([]).transport, "auto");
  assertEquals(parseArgs(["--transport", "perf"]).transport, "perf");
  assertThrows(
    () => parseArgs(["--transport", "pipe"]),
    UsageError,
    "--transport: 'pipe' is not one of auto, ringbuf, perf",
  );
  assertEquals(resolveTransport("auto", () => true), "ringbuf");
  assertEquals(resolveTransport("auto", () => false), "perf");
  assertEquals(resolveTransport("perf", () => true), "perf");
  assertThrows(() => resolveTransport("ringbuf", () => false), HostError, "no BPF ring buffer");
  assertEquals([1, 2, 4, 1024].map((cpus) => perfPagesPerCpu(4 << 20, cpus, 4096)), [1024, 512, 256, 1]);
  assertEquals(perfPagesPerCpu(3 * 4096, 1, 4096), 2);
});
