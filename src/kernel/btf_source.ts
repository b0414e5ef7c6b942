/**
 * Which BTF describes the running kernel: its own, or a file the user gave.
 * @module
 */
import { HostError, UsageError } from "../errors.ts";

/** The kernel's own BTF. */
export const KERNEL_BTF = "/sys/kernel/btf/vmlinux";

/** Where the kernel's types come from. */
export interface BtfSource {
  path: string;
  /** true when given with --btf, not the kernel's own */
  custom: boolean;
}

/** Finds BTF; a missing --btf file is a usage error, a kernel without BTF a host error. */
export function locateBtf(custom?: string): BtfSource {
  if (custom) {
    try {
      if (!Deno.statSync(custom).isFile) throw new Error();
    } catch {
      throw new UsageError(`--btf: no BTF file at '${custom}'`);
    }
    return { path: custom, custom: true };
  }
  try {
    Deno.statSync(KERNEL_BTF);
  } catch {
    throw new HostError(
      `this kernel has no BTF (${KERNEL_BTF} is missing: CONFIG_DEBUG_INFO_BTF is off); give one with --btf FILE`,
    );
  }
  return { path: KERNEL_BTF, custom: false };
}
