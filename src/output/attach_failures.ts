/**
 * The lifecycle mode's start-up line: how many points are traced and by
 * which method, how many were skipped and why, and the points that could not
 * be attached: each by name, grouped by the kernel's reason, so a user sees
 * at once which part of the path is not traced and why (`-v` prints each
 * failure in full). Pure.
 * @module
 */

/** One point that failed, and the whole message of why. */
export interface AttachFailure {
  point: string;
  why: string;
}

/** The part of a failure's message that says why: the errno text with its name, else the message. */
export function shortReason(why: string): string {
  if (why.startsWith("not in available_filter_functions")) return "not hookable by ftrace";
  const errno = why.match(/([A-Za-z][^:()]*\((E[A-Z0-9]+)\))/);
  if (errno) return errno[1].trim();
  return why.replace(/^(fentry|return probe[^:]*|kprobe[^:]*): /, "");
}

/** "fib_validate_source, ip6_xmit (Operation not supported (ENOTSUPP)); napi_gro_complete (no BTF type ...)". */
export function attachFailureText(failures: readonly AttachFailure[]): string {
  const byReason = new Map<string, string[]>();
  for (const f of failures) {
    const r = shortReason(f.why);
    const names = byReason.get(r) ?? [];
    if (!names.includes(f.point)) names.push(f.point);
    byReason.set(r, names);
  }
  return [...byReason].map(([r, names]) => `${names.join(", ")} (${r})`).join("; ");
}

/** "tracing 41 points (30 by tracepoint, 11 by kprobe); skipped: 3 function not in the running kernel; not attached: ...". */
export function tracingLine(
  methods: readonly string[],
  skipped: ReadonlyMap<string, number>,
  failures: readonly AttachFailure[],
): string {
  const byMethod = new Map<string, number>();
  for (const m of methods) byMethod.set(m, (byMethod.get(m) ?? 0) + 1);
  const how = [...byMethod].map(([m, n]) => `${n} by ${m}`).join(", ");
  const skippedText = [...skipped].map(([why, n]) => `${n} ${why}`).join("; ");
  const failedText = failures.length ? `; not attached: ${attachFailureText(failures)}` : "";
  return `tracing ${methods.length} points (${how})${skippedText ? `; skipped: ${skippedText}` : ""}${failedText}`;
}
