/**
 * The layers the design card names, checked on the imports themselves: src/kernel holds host facts only,
 * findings are data (src/diag never renders), renderers are handed the clock (src/output never reaches
 * lib/ffi), and lib/ffi is the only code that touches pointers.
 */
import { assertEquals } from "../helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(ROOT + dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sources(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The project paths a file imports, resolved from the root ("src/bpf/objects.ts"). */
function imports(file: string): string[] {
  const text = Deno.readTextFileSync(ROOT + file);
  const base = new URL(file, "file:///");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)]
    .map((m) => new URL(m[1], base).pathname.slice(1));
}

/** Files of `dir` that import something under one of `forbidden`, with what. */
function crossings(dir: string, forbidden: string[]): string[] {
  return sources(dir).flatMap((f) =>
    imports(f).filter((i) => forbidden.some((p) => i.startsWith(p))).map((i) => `${f} -> ${i}`)
  );
}

Deno.test("layers: the import reader sees single- and multi-line imports", () => {
  const life = [...imports("src/modes/life.ts"), ...imports("src/modes/life_load.ts")];
  assertEquals(["src/modes/life_pipeline.ts", "src/bpf/life_program.ts"].filter((f) => !life.includes(f)), []);
  assertEquals(crossings("src/modes", ["src/bpf/life_program.ts"]).length > 0, true);
});

Deno.test("layers: src/kernel holds host facts: it loads no BPF programs and renders nothing", () => {
  assertEquals(crossings("src/kernel", ["src/bpf/", "src/output/", "src/modes/", "src/diag/", "src/life/"]), []);
});

Deno.test("layers: findings are data: src/diag never calls into src/output or src/modes", () => {
  assertEquals(crossings("src/diag", ["src/output/", "src/modes/"]), []);
});

Deno.test("layers: renderers are handed the clock: src/output never reaches lib/ffi", () => {
  assertEquals(crossings("src/output", ["lib/ffi/", "src/modes/"]), []);
});

Deno.test("layers: only lib/ffi touches pointers", () => {
  const pointerUse = [...sources("src"), "main.ts"].filter((f) =>
    /\bDeno\.(UnsafePointer|UnsafePointerView|UnsafeCallback|dlopen)\b/.test(Deno.readTextFileSync(ROOT + f))
  );
  assertEquals(pointerUse, []);
});
