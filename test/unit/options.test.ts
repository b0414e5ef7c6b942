import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { DEFAULT_RING_SIZE, helpText, OPTION_TABLE, parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";

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
    DEFAULT_RING_SIZE,
    "mmap",
  ]);
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
    [["--drop", "stray"], "unexpected argument 'stray'"],
    [["--check", "--drop"], "--drop cannot be combined with --check"],
    [["--netns", "5", "--netns-current", "--drop"], "--netns and --netns-current cannot be combined"],
  ];
  for (const [argv, msg] of cases) assertThrows(() => parseArgs(argv), UsageError, msg);
});

Deno.test("options: -h has one line per option, with its meaning", () => {
  const h = helpText();
  for (const s of OPTION_TABLE) {
    const re = new RegExp(`^ +(-${s.short ?? "_"}, )?--${s.long}( [A-Z]+)? +(.+)$`, "m");
    const m = h.match(re);
    assertEquals(m?.[3], s.help, `--${s.long}`);
  }
});
