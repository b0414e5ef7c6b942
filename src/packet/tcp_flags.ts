/**
 * TCP flags as nettrace writes them: one letter each, in the order
 * S A P R F U E C (as the C nettrace prints them), and their bits in the
 * header's flag byte. Output, --tcp-flags and the rules' tcp_flags share it.
 * @module
 */

/** Letter and bit of each flag, in printing order. */
export const TCP_FLAGS: ReadonlyArray<readonly [letter: string, bit: number]> = [
  ["S", 0x02],
  ["A", 0x10],
  ["P", 0x08],
  ["R", 0x04],
  ["F", 0x01],
  ["U", 0x20],
  ["E", 0x40],
  ["C", 0x80],
];

const BIT = new Map(TCP_FLAGS);

/** The bit of one flag letter (upper case), undefined when it is none. */
export function tcpFlagBit(letter: string): number | undefined {
  return BIT.get(letter);
}

/** The flag byte as letters: 0x12 -> "SA". */
export function tcpFlagsText(flags: number): string {
  let s = "";
  for (const [letter, bit] of TCP_FLAGS) if (flags & bit) s += letter;
  return s;
}
