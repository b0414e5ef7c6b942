/**
 * nettrace's command line: the option table (names as the C nettrace has
 * them), parsing into typed Options, and the -h text.
 * @module
 */
import { UsageError } from "../errors.ts";
import type { PacketFilter } from "../bpf/filter.ts";
import {
  DEFAULT_RING_READER,
  type RingReaderKind,
  TRANSPORT_CHOICES,
  type TransportChoice,
} from "../../lib/ffi/ring_records.ts";
import { SNAP_MAX } from "../event/layout.ts";
import { ATTACH_METHODS, type AttachMethod, isAttachMethod } from "../bpf/attach_method.ts";
import {
  type ListenAddress,
  parseAddressOption,
  parseIntegerOption,
  parseListenOption,
  parsePacketLengthOption,
  parsePortOption,
  parseProtocolOption,
  parseRateOption,
  parseRingSizeOption,
  parseRotateOption,
  parseTcpFlagsOption,
} from "./values.ts";

/** What nettrace was asked to do. */
export type Mode =
  | "life"
  | "sock"
  | "rtt"
  | "drop"
  | "monitor"
  | "check"
  | "trace-list"
  | "explain"
  | "help"
  | "version";

/** Parsed command line. */
export interface Options {
  mode: Mode | undefined;
  filter: PacketFilter;
  /** --netns-current: resolved to an inode by the mode */
  netnsCurrent: boolean;
  /** stop after this many events */
  count?: number;
  detail: boolean;
  date: boolean;
  dropStack: boolean;
  /** --json: one JSON object per line on stdout */
  json: boolean;
  /** -o: results to this file instead of stdout */
  output?: string;
  /** --output-truncate: empty the -o file first instead of appending */
  outputTruncate: boolean;
  /** --output-rotate SIZE,COUNT */
  outputRotate?: { size: number; count: number };
  /** -w: the packets shown, as pcapng, to this file */
  write?: string;
  /** --snaplen: bytes of each packet -w keeps */
  snaplen: number;
  snaplenGiven: boolean;
  verbose: boolean;
  debug: boolean;
  /** BTF file for kernels without /sys/kernel/btf/vmlinux */
  btf?: string;
  /** ring buffer size in bytes */
  ringSize: number;
  /** --ring-size was given */
  ringSizeGiven: boolean;
  ringReader: RingReaderKind;
  /** --transport */
  transport: TransportChoice;
  /** how programs are hooked into the kernel; "auto" chooses */
  attachMethod: AttachMethod;
  /** -t: groups or leaves of the tracer tree */
  trace: string[];
  /** --latency-show: beside each point, its time since the packet's first point; --latency-free: the free's too */
  latencyShow: boolean;
  latencyFree: boolean;
  /** --latency-summary: per-point latency histograms at exit; --latency: those alone, no blocks */
  latencySummary: boolean;
  latencyOnly: boolean;
  /** --pkt-fixed: the packet is not NATed: every point matches it against the filter */
  pktFixed: boolean;
  /** --func-stats: the points count their calls in the kernel, a table is printed (no events) */
  funcStats: boolean;
  /** --interval: seconds between --func-stats tables or --rtt histograms (undefined: only at exit) */
  intervalS?: number;
  /** --tiny-show: in a block, only the first line shows the packet */
  tinyShow: boolean;
  /** --rtt-detail: each RTT sample too, not only the histograms */
  rttDetail: boolean;
  /** RTT thresholds, in the kernel: --tcp-srtt and --filter-srtt (smoothed RTT), --tcp-rtt (the last sample),
   * --filter-minrtt (the connection's minimum RTT), each in µs, with the option that set it */
  rttMin: { srttUs?: number; rttUs?: number; minRttUs?: number; given: string[] };
  /** --metrics ADDR:PORT: where --monitor serves its Prometheus metrics */
  metrics?: ListenAddress;
  /** --trace-free: points that end an skb's life besides the tree's frees */
  traceFree: string[];
  /** --trace-noclone: the new skb of a clone function does not join its parent's packet */
  traceNoclone: boolean;
  /** --trace-regex: keep the points whose name matches */
  traceRegex?: RegExp;
  /** --trace-matcher: the points (or groups) where packets are matched against the filter; the others follow */
  traceMatcher: string[];
  traceExclude: string[];
  /** lifecycle: print each event at once, no grouping per packet */
  basic: boolean;
  /** lifecycle: trace even with no filter at all */
  force: boolean;
  /** lifecycle: print only packets whose life lasted at least this long (µs, as in the C nettrace) */
  minLatencyUs?: number;
  /** events per second per CPU, 0 = unlimited */
  rateLimit: number;
  /** --drop: sends per second of the same drop before its repeats are summarized; 0 = every drop is sent */
  stormLimit: number;
  /** --storm-limit or --no-storm-limit was given (they are for --drop) */
  stormLimitGiven: boolean;
  /** lifecycle: points whose kernel stack is printed (at most 16) */
  traceStack: string[];
  /** lifecycle: also every kernel function taking a struct sk_buff * (from BTF) */
  allSkbFunctions: boolean;
  /** lifecycle: show the return value of every traced function that returns one (--ret) */
  ret: boolean;
  /** lifecycle: diagnose each packet with the rules (--diag, --diag-keep, --diag-quiet) */
  diag?: { keep: boolean; quiet: boolean };
  /** a rule file of the user's, tried before the shipped rules */
  rulesFile?: string;
  /** --diag: name the hook functions registered where netfilter dropped a packet */
  hooks: boolean;
  /** nettrace explain NAME | --list */
  explain?: { name?: string; list: boolean };
  /** -e EXPR, or the words after the options: a tcpdump expression (compiled by main.ts into filter.expression) */
  filterExpr?: string;
}

/** One option of the table. */
export interface OptionSpec {
  long: string;
  short?: string;
  /** other long names it is known by (the C nettrace's spellings) */
  aliases?: string[];
  /** name of the value, for options that take one */
  value?: string;
  help: string;
  /** applies the option to opts */
  apply: (opts: Options, value: string, name: string) => void;
}

const PAGE_KIB = 4;
/** Bytes of each packet -w keeps unless --snaplen says otherwise. */
export const DEFAULT_SNAPLEN = 128;
/** Sends per second of one drop (--storm-limit) before its repeats are only counted. */
export const DEFAULT_STORM_LIMIT = 100;
/** Default ring buffer size: 4 MiB. */
export const DEFAULT_RING_SIZE = 4 << 20;
/**
 * The drop monitor's default ring with its storm limit on: a storm is counted in the kernel, so the ring carries
 * what is shown, and a larger one would only add to nettrace's memory (the ring is mapped into it).
 */
export const STORM_RING_SIZE = 1 << 20;

function splitList(name: string, v: string): string[] {
  const items = v.split(",").map((x) => x.trim());
  if (items.some((x) => x === "")) throw new UsageError(`${name}: empty name in '${v}'`);
  return items;
}

/** An RTT threshold in milliseconds (--tcp-rtt, --filter-srtt, ...), kept in µs. */
function setRttMin(opts: Options, key: "srttUs" | "rttUs" | "minRttUs", name: string, value: string): void {
  if (opts.rttMin[key] !== undefined) {
    throw new UsageError(`${name}: ${opts.rttMin.given.join(" and ")} already set this threshold`);
  }
  opts.rttMin[key] = parseIntegerOption(name, value, 0, 600_000) * 1000;
  opts.rttMin.given.push(name);
}

function setMode(opts: Options, mode: Mode, name: string): void {
  if (opts.mode && opts.mode !== mode) {
    throw new UsageError(`${name} cannot be combined with --${opts.mode}: they are different modes`);
  }
  opts.mode = mode;
}

/** Every option nettrace takes, in -h order. */
export const OPTION_TABLE: OptionSpec[] = [
  {
    long: "saddr",
    short: "s",
    value: "ADDR",
    help: "filter source IPv4/IPv6 address",
    apply: (o, v, n) => (o.filter.saddr = parseAddressOption(n, v)),
  },
  {
    long: "daddr",
    short: "d",
    value: "ADDR",
    help: "filter destination IPv4/IPv6 address",
    apply: (o, v, n) => (o.filter.daddr = parseAddressOption(n, v)),
  },
  {
    long: "addr",
    value: "ADDR",
    help: "filter source or destination IPv4/IPv6 address",
    apply: (o, v, n) => (o.filter.addr = parseAddressOption(n, v)),
  },
  {
    long: "sport",
    short: "S",
    value: "PORT",
    help: "filter source TCP/UDP port",
    apply: (o, v, n) => (o.filter.sport = parsePortOption(n, v)),
  },
  {
    long: "dport",
    short: "D",
    value: "PORT",
    help: "filter destination TCP/UDP port",
    apply: (o, v, n) => (o.filter.dport = parsePortOption(n, v)),
  },
  {
    long: "port",
    short: "P",
    value: "PORT",
    help: "filter source or destination TCP/UDP port",
    apply: (o, v, n) => (o.filter.port = parsePortOption(n, v)),
  },
  {
    long: "proto",
    short: "p",
    value: "PROTO",
    help: "filter L3/L4 protocol, such as 'tcp', 'udp', 'icmp', 'arp', 'ipv6'",
    apply: (o, v, n) => Object.assign(o.filter, parseProtocolOption(n, v)),
  },
  {
    long: "netns",
    value: "INODE",
    help: "filter by network namespace inode (ls -l /proc/PID/ns/net)",
    apply: (o, v, n) => (o.filter.netns = parseIntegerOption(n, v, 1, 0xffffffff)),
  },
  {
    long: "netns-current",
    help: "filter by the network namespace nettrace runs in",
    apply: (o) => (o.netnsCurrent = true),
  },
  {
    long: "pid",
    value: "PID",
    help: "filter by the id of the process current when the event fires",
    apply: (o, v, n) => (o.filter.pid = parseIntegerOption(n, v, 1, 0x3fffffff)),
  },
  {
    long: "ret",
    help: "show the return value of every traced function that returns one (BTF; needs kretprobes or fexit)",
    apply: (o) => (o.ret = true),
  },
  {
    long: "diag",
    help: "diagnose: findings (INFO/WARN/ERROR) with advice per packet and per TCP socket; stops after the first ERROR",
    apply: (o) => (o.diag = { keep: o.diag?.keep ?? false, quiet: o.diag?.quiet ?? false }),
  },
  {
    long: "diag-keep",
    help: "with --diag: go on after a packet with an ERROR",
    apply: (o) => (o.diag = { keep: true, quiet: o.diag?.quiet ?? false }),
  },
  {
    long: "diag-quiet",
    help: "with --diag: print only packets that have a finding",
    apply: (o) => (o.diag = { keep: o.diag?.keep ?? false, quiet: true }),
  },
  {
    long: "hooks",
    help: "with --diag: list the hook functions registered on the netfilter hook that dropped a packet",
    apply: (o) => (o.hooks = true),
  },
  {
    long: "rules",
    value: "FILE",
    help: "with --diag: also the diagnosis rules in FILE (tried before the shipped ones; see rules/README.md)",
    apply: (o, v) => (o.rulesFile = v),
  },
  {
    long: "all-skb-functions",
    help: "also trace every kernel function that takes a struct sk_buff * (read from BTF)",
    apply: (o) => (o.allSkbFunctions = true),
  },
  {
    long: "trace-stack",
    value: "LIST",
    help: "print the kernel stack at these trace points or groups (comma separated, at most 16 names)",
    apply: (o, v, n) => {
      o.traceStack.push(...splitList(n, v));
      if (o.traceStack.length > 16) throw new UsageError(`${n}: at most 16 names, got ${o.traceStack.length}`);
    },
  },
  {
    long: "tcp-flags",
    value: "FLAGS",
    help: "filter TCP packets that have any of these flags, e.g. 'S' or 'SR' (S A P R F U E C)",
    apply: (o, v, n) => (o.filter.tcpFlags = parseTcpFlagsOption(n, v)),
  },
  {
    long: "filter-expr",
    short: "e",
    value: "EXPR",
    help: "a tcpdump filter expression, run in the kernel, e.g. 'tcp dst port 443 and net 10.0.0.0/8' " +
      "(or the words after the options, as with tcpdump)",
    apply: (o, v, n) => {
      if (o.filterExpr !== undefined) throw new UsageError(`${n}: the filter expression is given twice`);
      o.filterExpr = v;
    },
  },
  {
    long: "pkt-len",
    value: "RANGE",
    help: "filter by the IP packet's length, its header included, in bytes: MIN-MAX, or one length (as in C)",
    apply: (o, v, n) => (o.filter.len = parsePacketLengthOption(n, v)),
  },
  {
    long: "min-latency",
    value: "US",
    help: "show only packets whose life in the kernel lasted at least US microseconds (as in the C nettrace)",
    apply: (o, v, n) => (o.minLatencyUs = parseIntegerOption(n, v, 1, 3_600_000_000)),
  },
  {
    long: "rate-limit",
    value: "RATE",
    help: "send at most RATE events per second per CPU (e.g. 1000/s); the rest are counted and reported",
    apply: (o, v, n) => (o.rateLimit = parseRateOption(n, v)),
  },
  {
    long: "storm-limit",
    value: "RATE",
    help: `--drop: show the same drop at most RATE times a second, count the rest (default ${DEFAULT_STORM_LIMIT}/s)`,
    apply: (o, v, n) => {
      o.stormLimit = parseRateOption(n, v);
      o.stormLimitGiven = true;
    },
  },
  {
    long: "no-storm-limit",
    help: "--drop: show every drop, as many as there are (e.g. to capture a storm to a file)",
    apply: (o) => {
      o.stormLimit = 0;
      o.stormLimitGiven = true;
    },
  },
  {
    long: "count",
    short: "c",
    value: "N",
    help: "exit after N events",
    apply: (o, v, n) => (o.count = parseIntegerOption(n, v, 1, Number.MAX_SAFE_INTEGER)),
  },
  {
    long: "trace",
    short: "t",
    value: "LIST",
    help: "trace these groups or points of the tracer tree (comma separated); 'all': every point, also those off " +
      "by default; '-t ?' lists them",
    apply: (o, v, n) => {
      if (v === "?") return setMode(o, "trace-list", n);
      o.trace.push(...splitList(n, v));
    },
  },
  {
    long: "trace-regex",
    value: "REGEX",
    help: "keep only trace points whose name matches REGEX",
    apply: (o, v, n) => {
      try {
        o.traceRegex = new RegExp(v);
      } catch (e) {
        throw new UsageError(`${n}: '${v}' is not a regular expression (${(e as Error).message})`);
      }
    },
  },
  {
    long: "trace-matcher",
    value: "LIST",
    help: "match packets against the filter at these points or groups only (comma separated); the other points " +
      "follow the packets matched there (as in the C nettrace: less work per event)",
    apply: (o, v, n) => o.traceMatcher.push(...splitList(n, v)),
  },
  {
    long: "trace-noclone",
    help: "do not follow clones: the skb a clone function returns is not added to its parent's packet (as in C)",
    apply: (o) => (o.traceNoclone = true),
  },
  {
    long: "trace-free",
    value: "LIST",
    help: "these points (comma separated) end an skb's life too, as the tree's frees do (as in C)",
    apply: (o, v, n) => o.traceFree.push(...splitList(n, v)),
  },
  {
    long: "latency-show",
    help: "beside each point of a block, its time since the packet's first point (the kernel's timestamps)",
    apply: (o) => (o.latencyShow = true),
  },
  {
    long: "latency-free",
    help: "with --latency-show or --latency-summary: the free that ends a life counts too",
    apply: (o) => (o.latencyFree = true),
  },
  {
    long: "latency-summary",
    help: "at exit, per point, a histogram of its latencies from the point before it (the kernel's timestamps)",
    apply: (o) => (o.latencySummary = true),
  },
  {
    long: "latency",
    help: "latency mode: the --latency-summary histograms alone, no packet blocks",
    apply: (o) => (o.latencySummary = o.latencyOnly = true),
  },
  {
    long: "pkt-fixed",
    help:
      "the packet is not NATed: match it against the filter at every point, not only where it is first seen (as in C)",
    apply: (o) => (o.pktFixed = true),
  },
  {
    long: "func-stats",
    help: "count the calls of each traced point in the kernel, no events; print them sorted at exit (as in C)",
    apply: (o) => (o.funcStats = true),
  },
  {
    long: "rtt",
    help: "RTT mode: a histogram of the RTT samples per TCP connection, counted in the kernel, at exit " +
      "(and every --interval seconds)",
    apply: (o, _v, n) => setMode(o, "rtt", n),
  },
  {
    long: "rtt-detail",
    help: "RTT mode: print each RTT sample too (one line per new sample), then the histograms",
    apply: (o, _v, n) => {
      setMode(o, "rtt", n);
      o.rttDetail = true;
    },
  },
  {
    long: "filter-srtt",
    value: "MS",
    help: "with --rtt: only samples of connections whose smoothed RTT is at least MS milliseconds",
    apply: (o, v, n) => setRttMin(o, "srttUs", n, v),
  },
  {
    long: "filter-minrtt",
    value: "MS",
    help: "with --rtt: only connections whose minimum RTT is at least MS milliseconds",
    apply: (o, v, n) => setRttMin(o, "minRttUs", n, v),
  },
  {
    long: "tcp-rtt",
    value: "MS",
    help: "with --sock: only events of TCP sockets whose last RTT sample is at least MS milliseconds; with " +
      "--monitor: show RTT samples of at least MS milliseconds",
    apply: (o, v, n) => setRttMin(o, "rttUs", n, v),
  },
  {
    long: "tcp-srtt",
    value: "MS",
    help: "with --sock: only events of TCP sockets whose smoothed RTT is at least MS milliseconds; with " +
      "--monitor: show RTT samples of sockets whose smoothed RTT is at least MS milliseconds",
    apply: (o, v, n) => setRttMin(o, "srttUs", n, v),
  },
  {
    long: "interval",
    value: "SECONDS",
    help: "with --func-stats or --rtt: print the table or the histograms every SECONDS too",
    apply: (o, v, n) => (o.intervalS = parseIntegerOption(n, v, 1, 86400)),
  },
  {
    long: "trace-exclude",
    value: "LIST",
    help: "leave out these groups or points (comma separated)",
    apply: (o, v, n) => o.traceExclude.push(...splitList(n, v)),
  },
  {
    long: "tiny-show",
    help: "lifecycle blocks: only the first line shows the packet, the others their point (as in the C nettrace)",
    apply: (o) => (o.tinyShow = true),
  },
  {
    long: "sock",
    help: "socket mode: trace sockets instead of packets, one line per event (states, sends, receives, " +
      "retransmissions, timers, resets, close); the address and port filters apply to the connection",
    apply: (o, _v, n) => setMode(o, "sock", n),
  },
  {
    long: "monitor",
    help: "monitor mode, for production: only abnormal events, each with its finding from the rules (drops, " +
      "resets, retransmission timeouts, congestion losses; RTT samples with --tcp-rtt or --tcp-srtt), " +
      "repeats summarized",
    apply: (o, _v, n) => setMode(o, "monitor", n),
  },
  {
    long: "metrics",
    value: "ADDR:PORT",
    help: "with --monitor (which it implies): serve Prometheus metrics on http://ADDR:PORT/metrics (drops by " +
      "reason and location, socket findings, nettrace's own counts); loopback unless an address says otherwise",
    apply: (o, v, n) => (o.metrics = parseListenOption(n, v)),
  },
  {
    long: "basic",
    help: "print each trace event at once instead of one block per packet",
    apply: (o) => (o.basic = true),
  },
  {
    long: "force",
    help: "with no filter, trace every packet without the notice that it is heavy on a busy host",
    apply: (o) => (o.force = true),
  },
  {
    long: "drop",
    help: "skb drop monitor mode: every packet the kernel drops, with reason and location",
    apply: (o, _v, n) => setMode(o, "drop", n),
  },
  {
    long: "drop-stack",
    help: "print the kernel call stack of each drop (implies --drop)",
    apply: (o, _v, n) => {
      setMode(o, "drop", n);
      o.dropStack = true;
    },
  },
  {
    long: "detail",
    help: "show skb address, CPU, interface, netns, pid and command of each event",
    apply: (o) => (o.detail = true),
  },
  {
    long: "json",
    help: "print one JSON object per line instead of text: events, blocks, findings, losses (docs/json.md)",
    apply: (o) => (o.json = true),
  },
  {
    short: "o",
    long: "output",
    value: "FILE",
    help: "write results to FILE (created 0600, appended to, never through a symbolic link) instead of stdout",
    apply: (o, v) => (o.output = v),
  },
  {
    long: "output-truncate",
    help: "empty the -o FILE first instead of appending to it",
    apply: (o) => (o.outputTruncate = true),
  },
  {
    long: "output-rotate",
    value: "SIZE,N",
    help: "start a new -o FILE when it would pass SIZE (K, M, G), keeping N old ones (FILE.1 ... FILE.N)",
    apply: (o, v, n) => (o.outputRotate = parseRotateOption(n, v)),
  },
  {
    short: "w",
    long: "write",
    value: "FILE",
    help: "also write the packets shown to FILE as pcapng, each with its drop or its path as the comment",
    apply: (o, v) => (o.write = v),
  },
  {
    long: "snaplen",
    value: "BYTES",
    help:
      `with -w: bytes of each packet kept, from its MAC or IP header (default ${DEFAULT_SNAPLEN}, at most ${SNAP_MAX})`,
    apply: (o, v, n) => {
      o.snaplen = parseIntegerOption(n, v, 1, SNAP_MAX);
      o.snaplenGiven = true;
    },
  },
  { long: "date", help: "print wall-clock date and time instead of seconds since boot", apply: (o) => (o.date = true) },
  {
    long: "check",
    help: "report what this kernel supports (BTF, tracefs, attach kinds, drop reasons) and exit",
    apply: (o, _v, n) => setMode(o, "check", n),
  },
  {
    long: "btf",
    aliases: ["btf-path"],
    value: "FILE",
    help: "kernel BTF file to use when the kernel has no /sys/kernel/btf/vmlinux",
    apply: (o, v) => (o.btf = v),
  },
  {
    long: "ring-size",
    value: "KIB",
    help: `BPF ring buffer size in KiB, a power of two (default 4096; ${
      STORM_RING_SIZE >> 10
    } for --drop with its storm limit)`,
    apply: (o, v, n) => {
      o.ringSize = parseRingSizeOption(n, v, PAGE_KIB);
      o.ringSizeGiven = true;
    },
  },
  {
    long: "ring-reader",
    value: "KIND",
    help: "how events are read, with either transport: 'mmap' (default) or 'callback' (libbpf)",
    apply: (o, v, n) => {
      if (v !== "mmap" && v !== "callback") throw new UsageError(`${n}: '${v}' is not 'mmap' or 'callback'`);
      o.ringReader = v;
    },
  },
  {
    long: "transport",
    value: "KIND",
    help: "how events leave the kernel: 'ringbuf' (Linux 5.8+), 'perf' (a perf buffer, any kernel) or 'auto' (default)",
    apply: (o, v, n) => {
      if (!TRANSPORT_CHOICES.includes(v as TransportChoice)) {
        throw new UsageError(`${n}: '${v}' is not one of ${TRANSPORT_CHOICES.join(", ")}`);
      }
      o.transport = v as TransportChoice;
    },
  },
  {
    long: "attach-method",
    value: "METHOD",
    help: `force how probes are attached: ${ATTACH_METHODS.join(", ")} (default auto)`,
    apply: (o, v, n) => {
      if (!isAttachMethod(v)) throw new UsageError(`${n}: '${v}' is not one of ${ATTACH_METHODS.join(", ")}`);
      o.attachMethod = v;
    },
  },
  { long: "verbose", short: "v", help: "show log information", apply: (o) => (o.verbose = true) },
  {
    long: "debug",
    aliases: ["bpf-debug"],
    help: "show debug information, libbpf's log included",
    apply: (o) => (o.debug = o.verbose = true),
  },
  { long: "help", short: "h", help: "show this help", apply: (o, _v, n) => setMode(o, "help", n) },
  { long: "version", short: "V", help: "show nettrace's version", apply: (o, _v, n) => setMode(o, "version", n) },
];

/** Options before any argument is applied. */
export function defaultOptions(): Options {
  return {
    mode: undefined,
    filter: {},
    netnsCurrent: false,
    detail: false,
    date: false,
    dropStack: false,
    json: false,
    outputTruncate: false,
    snaplen: DEFAULT_SNAPLEN,
    snaplenGiven: false,
    verbose: false,
    debug: false,
    ringSize: DEFAULT_RING_SIZE,
    ringSizeGiven: false,
    ringReader: DEFAULT_RING_READER,
    transport: "auto",
    attachMethod: "auto",
    trace: [],
    traceExclude: [],
    basic: false,
    force: false,
    rateLimit: 0,
    stormLimit: DEFAULT_STORM_LIMIT,
    stormLimitGiven: false,
    traceStack: [],
    traceMatcher: [],
    traceNoclone: false,
    traceFree: [],
    funcStats: false,
    rttDetail: false,
    tinyShow: false,
    rttMin: { given: [] },
    pktFixed: false,
    latencyShow: false,
    latencyFree: false,
    latencySummary: false,
    latencyOnly: false,
    allSkbFunctions: false,
    ret: false,
    hooks: false,
  };
}

/** Parses argv; throws UsageError for anything it does not accept. */
export function parseArgs(argv: string[]): Options {
  const opts = defaultOptions();
  if (argv[0] === "explain") return parseExplain(argv.slice(1), opts);
  const byLong = new Map(OPTION_TABLE.flatMap((s) => [s.long, ...(s.aliases ?? [])].map((n) => [n, s])));
  const byShort = new Map(OPTION_TABLE.filter((s) => s.short).map((s) => [s.short!, s]));
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    let name = arg;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const long = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (eq >= 0) inline = arg.slice(eq + 1);
      name = `--${long}`;
      spec = byLong.get(long);
    } else if (arg.startsWith("-") && arg.length >= 2) {
      name = arg.slice(0, 2);
      spec = byShort.get(arg[1]);
      if (arg.length > 2) inline = arg.slice(2);
    } else {
      // a word that is not an option: part of the filter expression, as with tcpdump
      words.push(arg);
      continue;
    }
    if (!spec) throw new UsageError(`unknown option '${name}' (see nettrace -h)`);
    let value = "";
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new UsageError(`${name} needs a value (${spec.value})`);
    } else if (inline !== undefined) {
      throw new UsageError(`${name} takes no value`);
    }
    spec.apply(opts, value, name);
  }
  if (words.length) {
    if (opts.filterExpr !== undefined) {
      throw new UsageError(`the filter expression is given twice: -e '${opts.filterExpr}' and '${words.join(" ")}'`);
    }
    opts.filterExpr = words.join(" ");
  }
  if (opts.netnsCurrent && opts.filter.netns) {
    throw new UsageError("--netns and --netns-current cannot be combined");
  }
  if ((opts.outputTruncate || opts.outputRotate) && !opts.output) {
    throw new UsageError(`--output-${opts.outputRotate ? "rotate" : "truncate"} is for -o FILE`);
  }
  if (opts.metrics) {
    if (opts.mode && opts.mode !== "monitor") throw new UsageError(`--metrics is for --monitor, not --${opts.mode}`);
    opts.mode = "monitor";
  }
  opts.mode ??= "life";
  if (opts.snaplenGiven && !opts.write) throw new UsageError("--snaplen is for -w FILE");
  if (opts.intervalS !== undefined && !opts.funcStats && opts.mode !== "rtt") {
    throw new UsageError("--interval is for --func-stats and --rtt");
  }
  for (const name of opts.rttMin.given) {
    const want = name.startsWith("--tcp-") ? "sock" : "rtt";
    if (opts.mode !== want && !(want === "sock" && opts.mode === "monitor")) {
      throw new UsageError(
        want === "sock"
          ? `${name} is for --sock and --monitor (as in the C nettrace; --rtt takes --filter-srtt and --filter-minrtt)`
          : `${name} is for --rtt and --rtt-detail (--sock takes --tcp-rtt and --tcp-srtt)`,
      );
    }
  }
  if (opts.funcStats) {
    const given: Array<[boolean, string]> = [
      [opts.mode !== "life", `--${opts.mode === "drop" ? "drop" : opts.mode}`],
      [opts.diag !== undefined, "--diag"],
      [opts.basic, "--basic"],
      [opts.write !== undefined, "-w"],
      [opts.minLatencyUs !== undefined, "--min-latency"],
      [opts.count !== undefined, "-c"],
      [opts.ret, "--ret"],
      [opts.traceStack.length > 0, "--trace-stack"],
      [opts.traceMatcher.length > 0, "--trace-matcher"],
      [opts.pktFixed, "--pkt-fixed"],
    ];
    const clash = given.find(([set]) => set)?.[1];
    if (clash) {
      throw new UsageError(`--func-stats counts calls, it shows no packets: it cannot be combined with ${clash}`);
    }
    if (Object.values(opts.filter).some((v) => v !== undefined) || opts.netnsCurrent || opts.filterExpr !== undefined) {
      throw new UsageError(
        "--func-stats counts every call of the traced points: packet filters do not apply (choose points with -t)",
      );
    }
  }
  if (opts.mode === "sock" || opts.mode === "rtt") {
    const packetOnly = (
      [
        [opts.diag !== undefined, "--diag"],
        [opts.write !== undefined, "-w"],
        [opts.minLatencyUs !== undefined, "--min-latency"],
        [opts.ret, "--ret"],
        [opts.filter.tcpFlags !== undefined, "--tcp-flags"],
        [opts.filter.len !== undefined, "--pkt-len"],
      ] as Array<[boolean, string]>
    ).find(([given]) => given)?.[1];
    if (packetOnly) {
      throw new UsageError(
        `${packetOnly} is about packets: --${opts.mode} traces sockets, it cannot be combined with it`,
      );
    }
  }
  if (opts.mode === "monitor") {
    const notMonitor = (
      [
        [opts.diag !== undefined, "--diag (--monitor diagnoses every event it shows)"],
        [opts.basic, "--basic (--monitor prints one line per event)"],
        [opts.write !== undefined, "-w"],
        [opts.minLatencyUs !== undefined, "--min-latency"],
        [opts.ret, "--ret"],
        [opts.trace.length > 0 || opts.traceRegex !== undefined, "-t (--monitor's points are those of the rules)"],
        [opts.traceStack.length > 0, "--trace-stack"],
        [opts.hooks, "--hooks"],
      ] as Array<[boolean, string]>
    ).find(([given]) => given)?.[1];
    if (notMonitor) throw new UsageError(`--monitor cannot be combined with ${notMonitor}`);
  }
  if (opts.tinyShow && (opts.mode !== "life" || opts.basic || opts.json || opts.funcStats)) {
    throw new UsageError("--tiny-show shortens the text of lifecycle blocks (not --basic, --json or other modes)");
  }
  if (opts.latencyFree && !opts.latencyShow && !opts.latencySummary) {
    throw new UsageError("--latency-free is for --latency-show, --latency-summary or --latency");
  }
  const latencyOption = opts.latencyShow ? "--latency-show" : opts.latencyOnly ? "--latency" : "--latency-summary";
  if ((opts.latencyShow || opts.latencySummary) && (opts.mode !== "life" || opts.basic || opts.funcStats)) {
    throw new UsageError(`${latencyOption} is for the blocks of lifecycle tracing (not --drop, --basic, --func-stats)`);
  }
  if (opts.latencyOnly && opts.latencyShow) {
    throw new UsageError("--latency prints no blocks: --latency-show shows nothing");
  }
  const lifeOnly = (
    [
      [opts.traceMatcher.length > 0, "--trace-matcher"],
      [opts.traceFree.length > 0, "--trace-free"],
      [opts.traceNoclone, "--trace-noclone"],
      [opts.pktFixed, "--pkt-fixed"],
    ] as Array<[boolean, string]>
  ).find(([given]) => given)?.[1];
  if (lifeOnly && opts.mode !== "life") throw new UsageError(`${lifeOnly} is for lifecycle tracing (and --diag)`);
  if (opts.write && opts.mode !== "drop" && opts.mode !== "life") {
    throw new UsageError("-w FILE writes the packets of --drop, lifecycle tracing and --diag");
  }
  if (opts.write && opts.output && opts.write === opts.output) {
    throw new UsageError(`-w and -o name the same file '${opts.write}'`);
  }
  if ((opts.mode === "drop" || opts.mode === "monitor") && opts.stormLimit > 0 && !opts.ringSizeGiven) {
    opts.ringSize = STORM_RING_SIZE;
  }
  if (opts.stormLimitGiven && opts.mode !== "drop" && opts.mode !== "monitor") {
    throw new UsageError("--storm-limit and --no-storm-limit are for --drop and --monitor");
  }
  if (opts.filterExpr !== undefined && (opts.mode === "check" || opts.mode === "trace-list")) {
    throw new UsageError(
      `unexpected ${
        opts.mode === "check" ? "--check" : "-t ?"
      } argument '${opts.filterExpr}': a filter expression is for tracing`,
    );
  }
  if (opts.output && (opts.mode === "check" || opts.mode === "trace-list")) {
    throw new UsageError(
      `-o FILE is for the results of tracing (--drop, lifecycle, --diag), not ${
        opts.mode === "check" ? "--check" : "-t ?"
      }`,
    );
  }
  return opts;
}

/** nettrace explain REASON | explain --list [--btf FILE] */
function parseExplain(argv: string[], opts: Options): Options {
  opts.mode = "explain";
  opts.explain = { list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--list") opts.explain.list = true;
    else if ((a === "--btf" || a === "--btf-path") && i + 1 < argv.length) opts.btf = argv[++i];
    else if (!a.startsWith("-") && !opts.explain.name) opts.explain.name = a;
    else throw new UsageError(`explain: unexpected '${a}' (nettrace explain REASON, or explain --list)`);
  }
  if (!opts.explain.list && !opts.explain.name) {
    throw new UsageError("explain needs a drop reason, such as NO_SOCKET, or --list");
  }
  return opts;
}

/**
 * --min-latency takes microseconds, as the C nettrace does; this project's first releases took milliseconds. A value
 * under a millisecond may be meant the old way: say once what it means now.
 */
export function minLatencyNotice(us: number | undefined): string | undefined {
  if (us === undefined || us >= 1000) return undefined;
  return `nettrace: --min-latency ${us} keeps packets that lived at least ${us} µs (microseconds, as in the C nettrace; ` +
    `nettrace 0.1 took milliseconds: ${us} ms is --min-latency ${us * 1000})`;
}

/** The -h text: one line per option. */
export function helpText(): string {
  const rows = OPTION_TABLE.map((s) => {
    const names = (s.short ? `-${s.short}, ` : "    ") + `--${s.long}` + (s.value ? ` ${s.value}` : "");
    const also = s.aliases?.length ? ` (also ${s.aliases.map((a) => `--${a}`).join(", ")})` : "";
    return `    ${names.padEnd(26)} ${s.help}${also}`;
  });
  return [
    "nettrace: trace packets through the Linux kernel and tell why they are dropped",
    "",
    "Usage: nettrace [MODE] [FILTERS] [OUTPUT OPTIONS] [EXPRESSION]",
    "  EXPRESSION: a tcpdump filter expression (pcap-filter(7)), run in the kernel, e.g. 'udp and dst port 53'",
    "  modes: (none) the life of each matching packet through the kernel, --drop (drop monitor),",
    "  or: --check (kernel capability report), -t ? (the tracer tree on this kernel),",
    "  or: nettrace explain REASON | explain --list (drop reasons in plain words)",
    "",
    ...rows,
    "",
  ].join("\n");
}
