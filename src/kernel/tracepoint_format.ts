/**
 * Tracepoint record layouts from tracefs (events/CAT/EVENT/format): where the
 * skb address lies in a record, and where a free's reason and location lie
 * (skb:kfree_skb).
 * @module
 */

/** Offset of the field named `field` of `size` bytes in a format file's text, or undefined. Pure. */
export function fieldOffset(format: string, field: string, size = 8): number | undefined {
  const re = new RegExp(`field:[^;]*[\\s*]${field};\\s*offset:(\\d+);\\s*size:${size};`);
  const m = format.match(re);
  return m ? Number(m[1]) : undefined;
}

/** Where a tracepoint's record holds what the lifecycle program reads. */
export interface TracepointOffsets {
  skb: number;
  /** the drop reason (an enum, 4 bytes) */
  reason?: number;
  /** the address that freed the skb */
  location?: number;
}

/** Offsets in a format file's text, or why the event is no use. Pure. */
export function tracepointOffsets(format: string): TracepointOffsets | "no-field" {
  const skb = fieldOffset(format, "skbaddr");
  if (skb === undefined) return "no-field";
  return { skb, reason: fieldOffset(format, "reason", 4), location: fieldOffset(format, "location") };
}

/** Offsets in the record of CAT:EVENT under tracefs, or why there are none. */
export function readTracepointOffsets(
  tracefs: string,
  category: string,
  event: string,
): TracepointOffsets | "no-event" | "no-field" {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${tracefs}/events/${category}/${event}/format`);
  } catch {
    return "no-event";
  }
  return tracepointOffsets(text);
}
