/**
 * The start-up line's account of points that could not be attached: each
 * point by name, grouped by the kernel's reason, so a user sees at once which
 * part of the path is not traced and why (`-v` prints each failure in full).
 * Pure.
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
