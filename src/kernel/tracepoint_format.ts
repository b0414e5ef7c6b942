/**
 * Tracepoint record layouts from tracefs (events/CAT/EVENT/format): where a
 * record holds the skb address, a free's reason and location
 * (skb:kfree_skb), and for socket events the socket address, a reset's
 * reason (tcp:tcp_send_reset) and the congestion state entered
 * (tcp:tcp_cong_state_set).
 * @module
 */

/** Offset of the field named `field` of `size` bytes in a format file's text, or undefined. Pure. */
export function fieldOffset(format: string, field: string, size = 8, type = "[^;]*"): number | undefined {
  const re = new RegExp(`field:${type}[\\s*]${field};\\s*offset:(\\d+);\\s*size:${size};`);
  const m = format.match(re);
  return m ? Number(m[1]) : undefined;
}

/** A field of a tracepoint's record. */
export interface TracepointField {
  offset: number;
  size: number;
  signed: boolean;
}

/** Every field of a format file's text (the common_ ones too), by name. Pure. */
export function tracepointFields(format: string): Map<string, TracepointField> {
  const out = new Map<string, TracepointField>();
  const re = /field:[^;]*?[\s*]([A-Za-z_][A-Za-z0-9_]*)(?:\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d);/g;
  for (const m of format.matchAll(re)) {
    out.set(m[1], { offset: Number(m[2]), size: Number(m[3]), signed: m[4] === "1" });
  }
  return out;
}

/** Where a tracepoint's record holds what the lifecycle program reads; undefined: not in this record. */
export interface TracepointOffsets {
  skb?: number;
  /** the drop reason (enum skb_drop_reason, 4 bytes) */
  reason?: number;
  /** the address that freed the skb */
  location?: number;
  /** the socket (skaddr; sk in sock:sock_send_length and kin) */
  sk?: number;
  /** a reset's reason (enum sk_rst_reason, 4 bytes; kernels 6.10 and later) */
  rstReason?: number;
  /** the congestion state entered (1 byte) */
  caState?: number;
}

/** Offsets in a format file's text. Pure. */
export function tracepointOffsets(format: string): TracepointOffsets {
  const out: TracepointOffsets = {};
  const set = (k: keyof TracepointOffsets, v: number | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set("skb", fieldOffset(format, "skbaddr"));
  set("reason", fieldOffset(format, "reason", 4, "enum skb_drop_reason"));
  set("location", fieldOffset(format, "location"));
  set("sk", fieldOffset(format, "skaddr") ?? fieldOffset(format, "sk"));
  set("rstReason", fieldOffset(format, "reason", 4, "enum sk_rst_reason"));
  set("caState", fieldOffset(format, "cong_state", 1));
  return out;
}

/** The fields of CAT:EVENT's record under tracefs, or "no-event" when the kernel has no such event. */
export function readTracepointFields(
  tracefs: string,
  category: string,
  event: string,
): Map<string, TracepointField> | "no-event" {
  try {
    return tracepointFields(Deno.readTextFileSync(`${tracefs}/events/${category}/${event}/format`));
  } catch {
    return "no-event";
  }
}

/** Offsets in the record of CAT:EVENT under tracefs, or "no-event" when the kernel has no such event. */
export function readTracepointOffsets(
  tracefs: string,
  category: string,
  event: string,
): TracepointOffsets | "no-event" {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${tracefs}/events/${category}/${event}/format`);
  } catch {
    return "no-event";
  }
  return tracepointOffsets(text);
}
