import { assertEquals } from "../helpers/assert.ts";
import { LineWriter } from "../../src/output/line_writer.ts";

/** A stdout that takes at most `chunk` bytes a call, and fails with EPIPE after `failAfter` calls. */
function sink(chunk = 1 << 30, failAfter = Infinity) {
  const got: Uint8Array[] = [];
  let calls = 0;
  return {
    got,
    text: () => new TextDecoder().decode(new Uint8Array(got.flatMap((b) => [...b]))),
    writes: () => calls,
    writeSync(p: Uint8Array): number {
      if (++calls > failAfter) throw new Deno.errors.BrokenPipe("EPIPE");
      const n = Math.min(chunk, p.length);
      got.push(p.slice(0, n));
      return n;
    },
  };
}

Deno.test("line writer: lines in order, one write per flush, partial writes finished, UTF-8 kept", () => {
  const out = sink(7);
  const w = new LineWriter(out);
  w.push("first");
  w.push("é ✓ 𝄞");
  assertEquals(out.writes(), 0);
  assertEquals(w.flush(), true);
  assertEquals(out.text(), "first\né ✓ 𝄞\n");
  assertEquals(w.flush(), true);
});

Deno.test("line writer: a storm's lines are written as the buffer fills; a line longer than it goes whole", () => {
  const out = sink();
  const w = new LineWriter(out);
  const line = "x".repeat(1000);
  for (let i = 0; i < 1000; i++) w.push(line);
  // 1,001,000 bytes: written in the middle of the drain, the rest at the flush
  const before = out.writes();
  assertEquals(before > 0, true);
  const long = "y".repeat(300_000);
  w.push(long);
  w.flush();
  assertEquals(out.text(), `${line}\n`.repeat(1000) + `${long}\n`);
});

Deno.test("line writer: once stdout is gone (EPIPE) flush says so and lines are dropped", () => {
  const out = sink(1 << 30, 1);
  const w = new LineWriter(out);
  w.push("a");
  assertEquals(w.flush(), true);
  w.push("b");
  assertEquals(w.flush(), false);
  w.push("c");
  assertEquals(w.flush(), false);
  assertEquals(out.text(), "a\n");
});
