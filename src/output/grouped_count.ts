/**
 * Counts as people read them: 118889 -> "118,889". Plain string work, not
 * Intl.NumberFormat: ICU's first use was 3% of --drop's start-up CPU
 * in the test guests (profiled).
 * @module
 */

/** n with a comma between each group of three digits (en-US); n a count: an integer or a bigint. */
export function groupedCount(n: number | bigint): string {
  const text = n.toString();
  const sign = text.startsWith("-") ? "-" : "";
  const digits = sign ? text.slice(1) : text;
  let out = "";
  for (let end = digits.length; end > 0; end -= 3) {
    const group = digits.slice(Math.max(0, end - 3), end);
    out = out ? `${group},${out}` : group;
  }
  return sign + out;
}
