/**
 * What the running kernel can do, as bpf/capabilities.ts finds it by
 * trying: BTF, tracefs, each attach kind, the ring buffer, attach cookies,
 * drop reasons.
 * @module
 */
import type { AttachKind } from "./attach_kind.ts";

/** One line of the report. */
export interface Capability {
  name: string;
  available: boolean;
  /** where/what when available, why not when unavailable */
  detail: string;
}

/** The whole report. */
export interface CapabilityReport {
  kernelRelease: string;
  btf: Capability;
  tracefs: Capability;
  attach: Record<AttachKind, Capability>;
  /** the BPF ring buffer, else events go through a perf buffer */
  ringBuffer: Capability;
  /** bpf_get_attach_cookie: one lifecycle program tells its points apart */
  attachCookie: Capability;
  dropReasons: Capability;
  /** CONFIG_HZ of the kernel's config, when the config is readable (jiffies to time) */
  hz?: number;
}
