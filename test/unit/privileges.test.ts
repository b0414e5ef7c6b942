import { assert, assertEquals } from "../helpers/assert.ts";
import { canLoadBpf, moduleBtfsRefused, perfEventParanoid, perfEventsRefused } from "../../src/kernel/privileges.ts";

const SYS_ADMIN = 1n << 21n, PERFMON = 1n << 38n, BPF = 1n << 39n;

Deno.test("privileges: CAP_BPF with CAP_PERFMON, or CAP_SYS_ADMIN, may load tracing programs", () => {
  assert(canLoadBpf(BPF | PERFMON));
  assert(canLoadBpf(SYS_ADMIN));
  assert(!canLoadBpf(BPF));
});

Deno.test("privileges: perf events are refused at Debian's paranoid level 3 without CAP_SYS_ADMIN only", () => {
  const unit = BPF | PERFMON;
  assertEquals(
    perfEventsRefused(unit, 3),
    "kernel.perf_event_paranoid is 3 and this process has no CAP_SYS_ADMIN: perf events are refused",
  );
  assertEquals(perfEventsRefused(unit | SYS_ADMIN, 3), undefined);
  assertEquals(perfEventsRefused(unit, 2), undefined);
  assertEquals(perfEventsRefused(unit, -1), undefined);
  assertEquals(perfEventsRefused(unit, undefined), undefined);
});

Deno.test("privileges: perf_event_paranoid is read as a number, or undefined", () => {
  assertEquals(perfEventParanoid(() => "3\n"), 3);
  assertEquals(perfEventParanoid(() => "-1\n"), -1);
  assertEquals(perfEventParanoid(() => "x"), undefined);
  assertEquals(
    perfEventParanoid(() => {
      throw new Deno.errors.NotFound("no such file");
    }),
    undefined,
  );
  assertEquals(typeof perfEventParanoid(), "number", "this machine's");
});

Deno.test("privileges: the modules' BTF can be listed with CAP_SYS_ADMIN only", () => {
  assertEquals(moduleBtfsRefused(SYS_ADMIN | BPF | PERFMON), undefined);
  assertEquals(moduleBtfsRefused(BPF | PERFMON), "the modules' BTF can be listed only with CAP_SYS_ADMIN");
});
