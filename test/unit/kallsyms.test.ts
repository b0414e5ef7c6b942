import { assertEquals } from "../helpers/assert.ts";
import {
  Kallsyms,
  KEEP_UNUSED_MS,
  kernelSymbols,
  resolveCodeAddress,
  tidyKernelSymbols,
} from "../../src/kernel/kallsyms.ts";

const TEXT = [
  "ffffffff81000000 T _text",
  "ffffffff81a00000 T tcp_v4_rcv",
  "ffffffff81a00800 t tcp_v4_do_rcv",
  "ffffffff81b00000 D some_data",
  "ffffffffc0a01000 t nft_do_chain\t[nf_tables]",
  "ffffffff81a00400 W weak_fn",
  "0000000000000000 T hidden",
].join("\n");

Deno.test("kallsyms: resolves to func+0xoff within text symbols, modules included", () => {
  const k = new Kallsyms(TEXT);
  assertEquals(k.size, 5);
  assertEquals(k.resolve(0xffffffff81a00091n), "tcp_v4_rcv+0x91");
  assertEquals(k.resolve(0xffffffff81a00000n), "tcp_v4_rcv+0x0");
  assertEquals(k.resolve(0xffffffff81a00401n), "weak_fn+0x1");
  assertEquals(k.resolve(0xffffffff81a00900n), "tcp_v4_do_rcv+0x100");
  assertEquals(k.resolve(0xffffffffc0a01010n), "nft_do_chain+0x10");
  // data symbols are not code: an address after tcp_v4_do_rcv stays with it
  assertEquals(k.resolve(0xffffffff81b00004n), "tcp_v4_do_rcv+0xff804");
  assertEquals(k.resolve(0x1000n), "0x1000");
  assertEquals(k.resolve(0n), "0x0");
  // cached answers are the same
  assertEquals(k.resolve(0xffffffff81a00091n), "tcp_v4_rcv+0x91");
  assertEquals(k.address("tcp_v4_rcv"), 0xffffffff81a00000n);
  assertEquals(k.has("hidden"), false);
});

Deno.test("kallsyms: the kernel image's lines are searched in place, per-CPU and data lines included", () => {
  const k = new Kallsyms(
    [
      "0000000000000000 A fixed_percpu_data",
      "0000000000001000 A cpu_number",
      "ffffffff81000000 T _text",
      "ffffffff81000000 T startup_64",
      "ffffffff81000100 t early_fn",
      "ffffffff81000200 r some_rodata",
      "ffffffff81000300 T ip_rcv",
      "ffffffff81000300 T ip_rcv_alias",
      "ffffffff81000400 W weak_one",
      "ffffffff81000500 t nf_hook_slow.isra.0",
      "ffffffff82000000 D big_data",
      "ffffffff83000000 B bss_end",
      "ffffffffc0002000 t mod_b_fn\t[mod_b]",
      "ffffffffc0001000 t mod_a_fn\t[mod_a]",
      "ffffffffc0001800 t mod_a_other\t[mod_a]",
    ].join("\n"),
  );
  // equal addresses: the last of them, as the kernel's own lookup
  assertEquals(k.resolve(0xffffffff81000000n), "startup_64+0x0");
  assertEquals(k.resolve(0xffffffff810000ffn), "startup_64+0xff");
  // a read-only data symbol between functions does not end the function before it
  assertEquals(k.resolve(0xffffffff81000250n), "early_fn+0x150");
  assertEquals(k.resolve(0xffffffff81000310n), "ip_rcv_alias+0x10");
  assertEquals(k.resolve(0xffffffff81000401n), "weak_one+0x1");
  // more than a function's size past the last code symbol: unknown
  assertEquals(k.resolve(0xffffffff82000010n), "0xffffffff82000010");
  assertEquals(k.resolve(0xffffffff80000000n), "0xffffffff80000000");
  // the modules' lines, in no order
  assertEquals(k.resolve(0xffffffffc0001004n), "mod_a_fn+0x4");
  assertEquals(k.resolve(0xffffffffc0001900n), "mod_a_other+0x100");
  assertEquals(k.resolve(0xffffffffc0002010n), "mod_b_fn+0x10");
  assertEquals(k.moduleOf("mod_a_other"), "mod_a");
  assertEquals(k.moduleOf("ip_rcv"), undefined);
  assertEquals(k.functionSymbol("nf_hook_slow"), "nf_hook_slow.isra.0");
  assertEquals(k.range("early_fn"), { start: 0xffffffff81000100n, end: 0xffffffff81000300n });
  assertEquals(k.size, 10);
});

Deno.test("kallsyms: hidden addresses (kptr_restrict) resolve to nothing", () => {
  const k = new Kallsyms(["0000000000000000 T _text", "0000000000000000 T ip_rcv"].join("\n"));
  assertEquals(k.resolve(0xffffffff81000010n), "0xffffffff81000010");
  assertEquals(k.has("ip_rcv"), false);
});

Deno.test("kallsyms: every address of this machine's kernel resolves as a full table would", () => {
  let file: Uint8Array;
  try {
    file = Deno.readFileSync("/proc/kallsyms");
  } catch (e) {
    console.log(`  skipped: /proc/kallsyms cannot be read here (${(e as Error).message})`);
    return;
  }
  const k = new Kallsyms(file);
  // the reference: every text line, sorted, as the old full table did
  const lines = new TextDecoder("latin1").decode(file).split("\n");
  const table = lines
    .map((l) => /^(ffff[0-9a-f]{12}) [tTwW] ([^\t]+)/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ addr: BigInt("0x" + m![1]), name: m![2] }));
  if (table.length === 0) {
    console.log("  skipped: /proc/kallsyms shows no addresses here (kptr_restrict)");
    return;
  }
  const sorted = table.map((t, i) => ({ ...t, i })).sort((a, b) =>
    a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.i - b.i
  );
  // a sample across the table: each symbol's start and a few bytes in
  for (let j = 0; j < sorted.length; j += 97) {
    const t = sorted[j];
    let last = j;
    while (last + 1 < sorted.length && sorted[last + 1].addr === t.addr) last++;
    const want = sorted[last];
    const next = last + 1 < sorted.length ? sorted[last + 1].addr : t.addr + 0x100000n;
    const probe = t.addr + (next - t.addr > 4n ? 3n : 0n);
    assertEquals(k.resolve(probe), `${want.name}+0x${(probe - want.addr).toString(16)}`, `at ${probe.toString(16)}`);
  }
});

Deno.test("kallsyms: lines whose addresses differ in their high half (arm64: image and modules apart) keep them", () => {
  const k = new Kallsyms(
    [
      "ffff800080000000 T _text",
      "ffff800080010000 T ip_rcv",
      "ffff800080020000 d some_data",
      "ffff80007a001000 t mod_fn\t[mod]",
    ].join("\n"),
  );
  assertEquals(k.resolve(0xffff800080010010n), "ip_rcv+0x10");
  assertEquals(k.resolve(0xffff80007a001008n), "mod_fn+0x8");
  assertEquals(k.moduleOf("mod_fn"), "mod");
  assertEquals(k.range("_text"), { start: 0xffff800080000000n, end: 0xffff800080010000n });
  assertEquals(k.size, 3);
});

Deno.test("kallsyms: this machine's table is forgotten after KEEP_UNUSED_MS unused; what it resolved is remembered", () => {
  const start = kernelSymbols().range("tcp_v4_rcv")?.start;
  if (start === undefined) throw new Error("no tcp_v4_rcv in /proc/kallsyms: are its addresses hidden (not root)?");
  const now = performance.now();
  // a read leaves garbage once; then nothing until the table goes unused
  tidyKernelSymbols(now);
  assertEquals(tidyKernelSymbols(now), undefined);
  assertEquals(resolveCodeAddress(start + 4n), "tcp_v4_rcv+0x4");
  assertEquals(tidyKernelSymbols(performance.now() + KEEP_UNUSED_MS - 1000), undefined);
  assertEquals(tidyKernelSymbols(performance.now() + KEEP_UNUSED_MS), "forgotten");
  assertEquals(tidyKernelSymbols(performance.now() + 2 * KEEP_UNUSED_MS), undefined, "nothing left to forget");
  // remembered: no read of the file
  assertEquals(resolveCodeAddress(start + 4n), "tcp_v4_rcv+0x4");
  assertEquals(tidyKernelSymbols(performance.now()), undefined, "no read for a remembered address");
  // a new address reads the table again
  assertEquals(resolveCodeAddress(start + 5n), "tcp_v4_rcv+0x5");
  assertEquals(tidyKernelSymbols(performance.now()), "read", "read again");
});

Deno.test("kallsyms: names it gave out do not keep the table's text alive", async () => {
  const [{ default: v8 }, { default: vm }] = await Promise.all([import("node:v8"), import("node:vm")]);
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  // 300,000 functions: 12 MB of text
  const file = () => {
    const lines = ["ffffffff81000000 T _text"];
    for (let i = 1; i <= 300_000; i++) {
      lines.push(`ffffffff81${i.toString(16).padStart(6, "0")} t a_long_function_name_${i}`);
    }
    lines.push("ffffffffc0001000 t a_function_in_a_module\t[a_module_name_that_is_long]");
    return lines.join("\n");
  };
  // in a function of its own: what it held is off the stack when the heap is measured
  const namesOfATable = () => {
    const k = new Kallsyms(file());
    return [
      k.resolve(0xffffffff81000001n),
      k.moduleOf("a_function_in_a_module"),
      k.functionSymbol("a_long_function_name_5"),
    ];
  };
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const kept = namesOfATable();
  gc();
  const grown = Deno.memoryUsage().heapUsed - before;
  assertEquals(kept, ["a_long_function_name_1+0x0", "a_module_name_that_is_long", "a_long_function_name_5"]);
  if (grown > 1 << 20) throw new Error(`the heap kept ${Math.round(grown / 1024)} KiB after the table was dropped`);
});
