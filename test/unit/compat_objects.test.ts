/**
 * Finding compat objects: the search path and what a directory found must hold.
 */
import { assertEquals } from "../helpers/assert.ts";
import { compatFileName, compatSearchPath, findCompatObjects } from "../../src/bpf/compat_objects.ts";

const REL = "5.10.0-46-amd64";

Deno.test("compat objects: searched in NETTRACE_COMPAT_DIR, the system directory, then the source tree", () => {
  assertEquals(compatSearchPath(REL, "/opt/nt/", "file:///src/nettrace/main.ts"), [
    `/opt/nt/${REL}`,
    `/usr/lib/nettrace/compat/${REL}`,
    `/src/nettrace/bpf/.output/compat/${REL}`,
    `/src/bpf/.output/compat/${REL}`,
  ]);
  // the bundle in dist/: the tree is its parent; a compiled binary's main module is not a file
  assertEquals(compatSearchPath(REL, undefined, "file:///src/nettrace/dist/nettrace.js").slice(-1), [
    `/src/nettrace/bpf/.output/compat/${REL}`,
  ]);
  assertEquals(compatSearchPath(REL, undefined, "https://example.org/main.ts"), [`/usr/lib/nettrace/compat/${REL}`]);
});

Deno.test("compat objects: the first directory that exists decides, and must be whole and for this kernel", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/${REL}`;
    const missing = `${root}/none`;
    assertEquals(findCompatObjects(REL, [missing]), { searched: [missing] });

    await Deno.mkdir(dir);
    assertEquals(findCompatObjects(REL, [missing, dir]), {
      problem: `${dir} has no 'kernel' file: not made by scripts/build-bpf.sh --compat`,
    });

    await Deno.writeTextFile(`${dir}/kernel`, "5.10.0-45-amd64\n");
    assertEquals(findCompatObjects(REL, [dir]), {
      problem: `the compat objects in ${dir} were built for kernel 5.10.0-45-amd64, this one is ${REL}`,
    });

    await Deno.writeTextFile(`${dir}/kernel`, `${REL}\n`);
    await Deno.writeFile(`${dir}/${compatFileName("drop", "ringbuf")}`, new Uint8Array(1));
    assertEquals(findCompatObjects(REL, [dir]), {
      problem: `the compat objects in ${dir} lack drop.perf.bpf.o, life.bpf.o, life.perf.bpf.o`,
    });

    for (const f of ["drop.perf.bpf.o", "life.bpf.o", "life.perf.bpf.o"]) {
      await Deno.writeFile(`${dir}/${f}`, new Uint8Array(1));
    }
    assertEquals(findCompatObjects(REL, [missing, dir]), { objects: { dir, release: REL } });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
