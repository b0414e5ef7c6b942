/**
 * The ways the kernel lets a BPF program hook one of its points: tracepoints
 * (classic, raw, BTF-typed), function entry and return probes (kprobes,
 * kprobe-multi, fentry/fexit). The capability probe tries each; --attach-method
 * names the entry kinds.
 * @module
 */

/** Ways of attaching a BPF program to a point of the kernel: the entry kinds, and the return kinds beside them. */
export const ATTACH_KINDS = [
  "tracepoint",
  "raw_tracepoint",
  "tp_btf",
  "kprobe",
  "kretprobe",
  "kprobe-multi",
  "fentry",
  "fexit",
] as const;

/** One of ATTACH_KINDS. */
export type AttachKind = typeof ATTACH_KINDS[number];
