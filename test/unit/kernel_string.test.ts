/** Strings from the kernel printed safely: control characters, invalid UTF-8 and the backslash escaped. */
import { assertEquals } from "../helpers/assert.ts";
import { kernelString, safeText } from "../../src/event/kernel_string.ts";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p));

Deno.test("safe text: printable ASCII and valid UTF-8 pass unchanged", () => {
  assertEquals(safeText(bytes("nginx: worker")), "nginx: worker");
  assertEquals(safeText(bytes("café-ñ")), "café-ñ");
  assertEquals(safeText(bytes("€ 😀")), "€ 😀");
  assertEquals(safeText(bytes("")), "");
});

Deno.test("safe text: ESC, CR, LF, TAB, other C0, DEL and the backslash are escaped", () => {
  assertEquals(safeText(bytes([0x1b], "[31mred", [0x1b], "[0m")), "\\e[31mred\\e[0m");
  assertEquals(safeText(bytes("a", [0x0d], "b", [0x0a], "c", [0x09], "d")), "a\\rb\\nc\\td");
  assertEquals(safeText(bytes([0x07, 0x08, 0x7f])), "\\x07\\x08\\x7f");
  assertEquals(safeText(bytes("a\\b")), "a\\\\b");
});

Deno.test("safe text: invalid UTF-8 and C1 controls are escaped byte by byte", () => {
  // a lone continuation byte, a truncated sequence, an overlong '/', a surrogate, beyond U+10FFFF
  assertEquals(safeText(bytes("a", [0x80], "b")), "a\\x80b");
  assertEquals(safeText(bytes("a", [0xe2, 0x82])), "a\\xe2\\x82");
  assertEquals(safeText(bytes([0xc0, 0xaf])), "\\xc0\\xaf");
  assertEquals(safeText(bytes([0xed, 0xa0, 0x80])), "\\xed\\xa0\\x80");
  assertEquals(safeText(bytes([0xf4, 0x90, 0x80, 0x80])), "\\xf4\\x90\\x80\\x80");
  // U+009B, CSI: as dangerous as ESC [ on many terminals
  assertEquals(safeText(bytes("x", [0xc2, 0x9b], "31m")), "x\\xc2\\x9b31m");
  // Latin-1 bytes that are not UTF-8
  assertEquals(safeText(bytes([0xe9, 0x74, 0xe9])), "\\xe9t\\xe9");
});

Deno.test("kernel string: stops at NUL or at the field's size", () => {
  const view = new DataView(bytes("eth0", [0, 0x1b], "x", [0x1b], "[2Jabcdefghijklmnop").buffer);
  assertEquals(kernelString(view, 0, 16), "eth0");
  assertEquals(kernelString(view, 5, 6), "\\ex\\e[2J");
  assertEquals(kernelString(view, 11, 4), "abcd");
});
