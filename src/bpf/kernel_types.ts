/**
 * How nettrace's programs learn the running kernel's types: from its BTF, from
 * a --btf file, or, on a kernel with neither, from compat objects built for it
 * from its headers (scripts/build-bpf.sh --compat).
 * @module
 */
import { HostError } from "../errors.ts";
import { KERNEL_BTF, locateBtf } from "../kernel/btf_source.ts";
import { type CompatObjects, findCompatObjects } from "./compat_objects.ts";

/** The kernel's types for loading: a BTF path (custom: given with --btf), or compat objects. */
export type KernelTypes =
  | { kind: "btf"; path: string; custom: boolean }
  | { kind: "compat"; objects: CompatObjects };

/** The --btf path to hand to libbpf, if the types come from one. */
export function btfCustomPath(t: KernelTypes): string | undefined {
  return t.kind === "btf" && t.custom ? t.path : undefined;
}

function kernelHasBtf(): boolean {
  try {
    Deno.statSync(KERNEL_BTF);
    return true;
  } catch {
    return false;
  }
}

/** The command that builds compat objects for a release, for messages. */
export function compatBuildHint(release: string): string {
  return `scripts/build-bpf.sh --compat /usr/src/linux-headers-${release}`;
}

/**
 * Chooses the kernel's types: --btf FILE, else the kernel's BTF, else compat
 * objects for this release. With none of them, a host error that says what to do.
 */
export function kernelTypes(customBtf?: string, release: string = Deno.osRelease()): KernelTypes {
  if (customBtf || kernelHasBtf()) return { kind: "btf", ...locateBtf(customBtf) };
  const found = findCompatObjects(release);
  if ("objects" in found) return { kind: "compat", objects: found.objects };
  if ("problem" in found) {
    throw new HostError(`this kernel has no BTF (${KERNEL_BTF} is missing), and ${found.problem}`);
  }
  throw new HostError(
    `this kernel has no BTF (${KERNEL_BTF} is missing: CONFIG_DEBUG_INFO_BTF is off); give one with --btf FILE ` +
      `(BTFHub has them), or build compat objects for ${release} from its headers: ${compatBuildHint(release)}`,
  );
}
