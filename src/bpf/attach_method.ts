/**
 * How a program is hooked into the kernel, as the user can force it with
 * --attach-method. "auto" lets nettrace choose from what the kernel offers.
 * @module
 */

/** Attach methods a user can ask for. */
export const ATTACH_METHODS = [
  "auto",
  "tracepoint",
  "raw_tracepoint",
  "tp_btf",
  "kprobe",
  "kprobe-multi",
  "fentry",
] as const;

/** One of ATTACH_METHODS. */
export type AttachMethod = typeof ATTACH_METHODS[number];

/** Whether s names an attach method. */
export function isAttachMethod(s: string): s is AttachMethod {
  return (ATTACH_METHODS as readonly string[]).includes(s);
}

/** Methods that hook a kernel function rather than a tracepoint. */
export function hooksFunction(m: AttachMethod): boolean {
  return m === "kprobe" || m === "kprobe-multi" || m === "fentry";
}

/** Methods whose programs are typed by the kernel's BTF and need it. */
export function needsBtf(m: AttachMethod): boolean {
  return m === "tp_btf" || m === "fentry";
}
