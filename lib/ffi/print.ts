/**
 * Routes libbpf's log (libbpf_set_print) to a TypeScript sink: nettrace shows
 * it with --debug, and keeps the last lines to explain a failed load.
 * @module
 */
import { libbpf } from "./libbpf.ts";
import { formatVaList } from "./libc.ts";

/** libbpf's log levels. */
export type LibbpfLevel = "warn" | "info" | "debug";
const LEVELS: LibbpfLevel[] = ["warn", "info", "debug"];

/** Where libbpf messages go. */
export type LibbpfSink = (level: LibbpfLevel, message: string) => void;

const PRINT_FN = { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const;
let callback: Deno.UnsafeCallback<typeof PRINT_FN> | undefined;
const recent: string[] = [];
const RECENT_MAX = 200;

const DEBUG_LEVEL = 2; // LIBBPF_DEBUG

/**
 * Installs sink as libbpf's printer; every message it is given is also kept for lastLibbpfLog(). Debug messages
 * (about 1,300 for one object's load: each relocation) are given only when withDebug: formatting them was 6% of
 * --drop's start-up CPU in the test guests (profiled); what explains a failed load is at warn level.
 */
export function routeLibbpfLog(sink: LibbpfSink, withDebug: boolean): void {
  callback?.close();
  const cb = new Deno.UnsafeCallback(
    PRINT_FN,
    (level, fmt, args) => {
      if (level >= DEBUG_LEVEL && !withDebug) return 0;
      const msg = formatVaList(fmt, args);
      recent.push(msg);
      if (recent.length > RECENT_MAX) recent.shift();
      sink(LEVELS[level] ?? "debug", msg);
      return 0;
    },
  );
  callback = cb;
  libbpf().libbpf_set_print(cb.pointer);
}

/** The last libbpf messages (most recent last), to explain a failure. */
export function lastLibbpfLog(lines = 20): string[] {
  return recent.slice(-lines);
}

/** Forgets kept messages (before an operation whose failure is to be explained). */
export function clearLibbpfLog(): void {
  recent.length = 0;
}
