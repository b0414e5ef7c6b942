/**
 * How a program is hooked into the kernel, as the user can force it with
 * --attach-method. "auto" lets nettrace choose from what the kernel offers.
 * @module
 */
import type { AttachKind } from "../kernel/attach_kind.ts";

/** Attach methods a user can ask for: auto, or an entry kind. */
export const ATTACH_METHODS = [
  "auto",
  "tracepoint",
  "raw_tracepoint",
  "tp_btf",
  "kprobe",
  "kprobe-multi",
  "fentry",
] as const satisfies readonly ("auto" | AttachKind)[];

/** One of ATTACH_METHODS. */
export type AttachMethod = typeof ATTACH_METHODS[number];

/** Whether s names an attach method. */
export function isAttachMethod(s: string): s is AttachMethod {
  return (ATTACH_METHODS as readonly string[]).includes(s);
}
