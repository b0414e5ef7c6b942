/**
 * Tracepoint record layouts from tracefs (events/CAT/EVENT/format): where the
 * skb address lies in a record.
 * @module
 */

/** Offset of the field named `field` in a format file's text, or undefined. Pure. */
export function fieldOffset(format: string, field: string): number | undefined {
  const re = new RegExp(`field:[^;]*[\\s*]${field};\\s*offset:(\\d+);\\s*size:8;`);
  const m = format.match(re);
  return m ? Number(m[1]) : undefined;
}

/** Offset of skbaddr in the record of CAT:EVENT under tracefs, or why there is none. */
export function tracepointSkbOffset(
  tracefs: string,
  category: string,
  event: string,
): number | "no-event" | "no-field" {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${tracefs}/events/${category}/${event}/format`);
  } catch {
    return "no-event";
  }
  return fieldOffset(text, "skbaddr") ?? "no-field";
}
