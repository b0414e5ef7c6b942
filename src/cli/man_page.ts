/**
 * The man page nettrace(8), in roff, written from the option table so it
 * says what -h says. Pure: scripts/write_docs.ts writes it to a file.
 * @module
 */
import { type OptionSpec } from "./options.ts";

/** Text made safe for roff: backslashes, dashes, and a leading dot or quote. */
export function roffEscape(text: string): string {
  return text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/gm, "\\&$1");
}

function optionEntry(s: OptionSpec): string {
  const names = [
    s.short ? `\\fB\\-${s.short}\\fR` : "",
    ...[s.long, ...(s.aliases ?? [])].map((n) => `\\fB\\-\\-${roffEscape(n)}\\fR`),
  ].filter(Boolean).join(", ");
  return [".TP", s.value ? `${names} \\fI${s.value}\\fR` : names, roffEscape(s.help)].join("\n");
}

const SECTIONS: Array<[string, string[]]> = [
  ["MODES", [
    ".TP",
    "(none)",
    "The life of each packet that matches the filters, through the kernel: one block per packet, every point it",
    "passed, in time order. With \\fB\\-\\-diag\\fR, findings (INFO, WARN, ERROR) and what to check.",
    ".TP",
    "\\fB\\-\\-drop\\fR",
    "Every packet the kernel drops: its headers, the drop reason and where in the kernel it happened.",
    ".TP",
    "\\fB\\-\\-check\\fR",
    "What this kernel supports: BTF, tracefs, each way of attaching, the drop reasons.",
    ".TP",
    "\\fB\\-t ?\\fR",
    "The tracer tree: every trace point, usable on this kernel or not, and why.",
    ".TP",
    "\\fBexplain\\fR \\fIREASON\\fR | \\fBexplain \\-\\-list\\fR",
    "What a drop reason of this kernel means and what to check. Needs no privileges.",
  ]],
];

const AFTER: Array<[string, string[]]> = [
  ["EXIT STATUS", [
    ".TP",
    "0",
    "Traced until interrupted (SIGINT, SIGTERM), \\fB\\-c\\fR was reached, or the output was closed.",
    ".TP",
    "1",
    "This host cannot run it (no root, no BTF and no \\fB\\-\\-btf\\fR, a missing kernel feature): one line says why.",
    ".TP",
    "2",
    "Bad input (an unknown option, a bad value, an unreadable file): one line says which.",
    ".PP",
    "Nothing stays attached in the kernel after nettrace exits, whatever the status.",
  ]],
  ["EXAMPLES", [
    ".nf",
    "nettrace \\-\\-drop",
    "nettrace \\-\\-drop \\-p tcp \\-\\-dport 80",
    "nettrace \\-p icmp \\-\\-addr 10.0.0.2",
    "nettrace \\-\\-diag \\-\\-addr 10.0.0.2",
    "nettrace explain NO_SOCKET",
    ".fi",
  ]],
  ["REQUIREMENTS", [
    "Root (or CAP_BPF and CAP_PERFMON), the system libbpf (libbpf.so.1), and the kernel's BTF",
    "(/sys/kernel/btf/vmlinux), a BTF file given with \\fB\\-\\-btf\\fR, or compat objects built for the",
    "running kernel from its headers (\\fBscripts/build\\-bpf.sh \\-\\-compat\\fR in the source tree).",
  ]],
  ["ENVIRONMENT", [
    ".TP",
    "\\fBNETTRACE_COMPAT_DIR\\fR",
    "A directory of compat objects, one subdirectory per kernel release, searched before",
    "\\fI/usr/lib/nettrace/compat\\fR on kernels without BTF.",
  ]],
  ["SEE ALSO", [
    "\\fBtcpdump\\fR(8), \\fBpcap\-filter\\fR(7), \\fBbpftool\\fR(8), \\fBnft\\fR(8), \\fBiptables\\fR(8)",
  ]],
];

/** nettrace.8 for this version and option table. */
export function manPage(version: string, options: readonly OptionSpec[], date: string): string {
  const section = ([title, lines]: [string, string[]]) => [`.SH ${title}`, ...lines];
  return [
    `.TH NETTRACE 8 "${date}" "nettrace ${version}" "System Administration"`,
    ".SH NAME",
    "nettrace \\- trace packets through the Linux kernel and tell why they are dropped",
    ".SH SYNOPSIS",
    "\\fBnettrace\\fR [\\fIMODE\\fR] [\\fIFILTERS\\fR] [\\fIOUTPUT OPTIONS\\fR] [\\fIEXPRESSION\\fR]",
    ".br",
    "\\fBnettrace explain\\fR \\fIREASON\\fR | \\fB\\-\\-list\\fR",
    ".SH DESCRIPTION",
    "nettrace follows network packets through the Linux kernel with eBPF, says why they were dropped and what to",
    "fix. Filters choose the packets; every mode but \\fBexplain\\fR needs root. \\fIEXPRESSION\\fR, the words after",
    "the options (or \\fB\\-e\\fR), is a tcpdump filter expression (\\fBpcap\-filter\\fR(7)) that libpcap compiles and",
    "nettrace runs in the kernel.",
    ...SECTIONS.flatMap(section),
    ".SH OPTIONS",
    ...options.map(optionEntry),
    ...AFTER.flatMap(section),
    "",
  ].join("\n");
}
