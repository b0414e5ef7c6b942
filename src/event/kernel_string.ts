/**
 * Strings from the kernel (process names, interface names, nft table and
 * chain names) as text that is safe to print: anyone who can name a process
 * or a device chooses these bytes. UTF-8 is kept; control characters (C0,
 * DEL, C1), invalid UTF-8 and the backslash are escaped (\e, \r, \n, \t,
 * \xNN, \\), so the text cannot move a terminal's cursor or change its
 * colours, and reads back unambiguously. Pure.
 * @module
 */

const latin1 = new TextDecoder("latin1");
const HEX = "0123456789abcdef";
const NAMED: Record<number, string> = { 0x1b: "\\e", 0x0d: "\\r", 0x0a: "\\n", 0x09: "\\t", 0x5c: "\\\\" };

function hexByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/** The length of the valid UTF-8 sequence starting at bytes[i] (a non-ASCII lead byte), 0 when invalid. */
function utf8Length(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  let n: number, min: number, cp: number;
  if (b >= 0xc2 && b <= 0xdf) [n, min, cp] = [2, 0x80, b & 0x1f];
  else if (b >= 0xe0 && b <= 0xef) [n, min, cp] = [3, 0x800, b & 0x0f];
  else if (b >= 0xf0 && b <= 0xf4) [n, min, cp] = [4, 0x10000, b & 0x07];
  else return 0;
  if (i + n > bytes.length) return 0;
  for (let k = 1; k < n; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  // overlong forms, UTF-16 surrogates and beyond U+10FFFF are not text
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
  // C1 controls (U+0080..U+009F) act on terminals as ESC sequences do
  if (cp >= 0x80 && cp <= 0x9f) return -n;
  return n;
}

const utf8 = new TextDecoder("utf-8");

/** The bytes as safe text (see the module comment). */
export function safeText(bytes: Uint8Array): string {
  // the common case, and the hot path: printable ASCII only
  let plain = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x20 || b >= 0x7f || b === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return latin1.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) {
      out += String.fromCharCode(b);
      i++;
    } else if (b < 0x80) {
      out += NAMED[b] ?? hexByte(b);
      i++;
    } else {
      const n = utf8Length(bytes, i);
      if (n > 0) {
        out += utf8.decode(bytes.subarray(i, i + n));
        i += n;
      } else {
        // invalid UTF-8 or a C1 control: each byte of it escaped
        const len = n < 0 ? -n : 1;
        for (let k = 0; k < len; k++) out += hexByte(bytes[i + k]);
        i += len;
      }
    }
  }
  return out;
}

/** A NUL-terminated string of at most max bytes at view[off], as safe text. */
export function kernelString(view: DataView, off: number, max: number): string {
  // one pass finds the end and whether the bytes are plain printable ASCII (the hot path)
  // (short names: a string built here costs less than a call into the decoder)
  let end = 0, plain = true, text = "";
  for (; end < max; end++) {
    const b = view.getUint8(off + end);
    if (b === 0) break;
    if (b < 0x20 || b >= 0x7f || b === 0x5c) plain = false;
    else if (plain) text += String.fromCharCode(b);
  }
  return plain ? text : safeText(new Uint8Array(view.buffer, view.byteOffset + off, end));
}
