/**
 * Which BTF describes the running kernel: its own, or a file the user gave.
 * @module
 */
import { HostError, UsageError } from "../errors.ts";
import { Btf } from "../../lib/ffi/btf.ts";
import { inputFileProblem } from "../runtime/input_file.ts";

/** The kernel's own BTF. */
export const KERNEL_BTF = "/sys/kernel/btf/vmlinux";

/** Where the kernel's types come from. */
export interface BtfSource {
  path: string;
  /** true when given with --btf, not the kernel's own */
  custom: boolean;
}

/** Why the --btf file cannot be used, in one line; undefined when it is BTF (raw, or an ELF with .BTF). */
export function btfFileProblem(path: string): string | undefined {
  const problem = inputFileProblem(path, "BTF file");
  if (problem) return problem;
  const why = Btf.problemWith(path);
  return why ? `not a BTF file (raw BTF, or an ELF with a .BTF section): ${why}` : undefined;
}

/** Finds BTF; an unusable --btf file is a usage error, a kernel without BTF a host error. */
export function locateBtf(custom?: string): BtfSource {
  if (custom) {
    const why = btfFileProblem(custom);
    if (why) throw new UsageError(`--btf '${custom}': ${why}`);
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
