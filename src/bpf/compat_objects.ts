/**
 * Compat objects: the event programs built for one kernel without BTF from
 * that kernel's headers (scripts/build-bpf.sh --compat), read at run time
 * from a directory named after the kernel release. They are looked for, in
 * this order, in $NETTRACE_COMPAT_DIR/RELEASE, /usr/lib/nettrace/compat/RELEASE
 * and, run from a source tree, its bpf/.output/compat/RELEASE.
 * @module
 */
import type { EventTransport } from "../../lib/ffi/ring_records.ts";

/** Where packages and administrators put compat objects. */
export const SYSTEM_COMPAT_DIR = "/usr/lib/nettrace/compat";

/** The event programs of nettrace: one object per program and transport. */
export type EventProgram = "drop" | "life";

/** The file of one program and transport, as build-bpf.sh names it. */
export function compatFileName(program: EventProgram, transport: EventTransport): string {
  return transport === "perf" ? `${program}.perf.bpf.o` : `${program}.bpf.o`;
}

const FILES: readonly string[] = (["drop", "life"] as const).flatMap((p) =>
  (["ringbuf", "perf"] as const).map((t) => compatFileName(p, t))
);

/** A directory of compat objects built for the running kernel. */
export interface CompatObjects {
  dir: string;
  release: string;
}

/** The directories searched for a kernel release, in order. */
export function compatSearchPath(
  release: string,
  envDir: string | undefined = Deno.env.get("NETTRACE_COMPAT_DIR"),
  mainModule: string = Deno.mainModule,
): string[] {
  const dirs: string[] = [];
  if (envDir) dirs.push(`${envDir.replace(/\/+$/, "")}/${release}`);
  dirs.push(`${SYSTEM_COMPAT_DIR}/${release}`);
  // run from a source tree: main.ts at its root, or the bundle in dist/
  if (mainModule.startsWith("file://")) {
    const main = decodeURIComponent(new URL(mainModule).pathname);
    const here = main.slice(0, main.lastIndexOf("/"));
    for (const root of [here, here.slice(0, here.lastIndexOf("/"))]) {
      if (root) dirs.push(`${root}/bpf/.output/compat/${release}`);
    }
  }
  return dirs;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** What was found for the release: the objects, or where nettrace looked, or why a directory found is unusable. */
export type CompatLookup =
  | { objects: CompatObjects }
  | { searched: string[] }
  | { problem: string };

/** Finds the compat objects for a kernel release; the first directory that exists decides. */
export function findCompatObjects(release: string, dirs: string[] = compatSearchPath(release)): CompatLookup {
  for (const dir of dirs) {
    if (!exists(dir)) continue;
    let built: string;
    try {
      built = Deno.readTextFileSync(`${dir}/kernel`).trim();
    } catch {
      return { problem: `${dir} has no 'kernel' file: not made by scripts/build-bpf.sh --compat` };
    }
    if (built !== release) {
      return { problem: `the compat objects in ${dir} were built for kernel ${built}, this one is ${release}` };
    }
    const missing = FILES.filter((f) => !exists(`${dir}/${f}`));
    if (missing.length) return { problem: `the compat objects in ${dir} lack ${missing.join(", ")}` };
    return { objects: { dir, release } };
  }
  return { searched: dirs };
}

/** The bytes of one compat object. */
export function readCompatObject(c: CompatObjects, program: EventProgram, transport: EventTransport): Uint8Array {
  return Deno.readFileSync(`${c.dir}/${compatFileName(program, transport)}`);
}

/** The line that says which compat object was loaded, and why. */
export function compatNotice(c: CompatObjects, program: EventProgram, transport: EventTransport): string {
  return `nettrace: no BTF on this kernel: loaded ${c.dir}/${
    compatFileName(program, transport)
  }, built for ${c.release} ` +
    "from its headers";
}
