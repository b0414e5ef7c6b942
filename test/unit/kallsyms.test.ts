import { assertEquals } from "../helpers/assert.ts";
import { Kallsyms } from "../../src/kernel/kallsyms.ts";

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
