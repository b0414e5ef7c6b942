/**
 * What `nettrace --check` says this kernel can do, run once a boot and bundle (kept in TMPDIR for the next file),
 * and tests that need one attach kind: they run where it is available, are
 * skipped with the reason where it is not, and fail where the environment
 * says it must be there (NETTRACE_EXPECT_ATTACH, set by the guest suite for
 * the kernels it boots), so a broken probe cannot pass as "not available".
 */
import { pathExists } from "./path_exists.ts";
import { kernelTestSkipReason } from "./kernel_env.ts";
import { nettraceCommand } from "./nettrace_process.ts";
import { type CapabilityRow, parseCheckReport } from "./check_report.ts";

/**
 * Where this boot's report is kept for the next test file (deno test runs each file afresh, and under TCG a run of
 * --check costs 12 s): named by the boot (a new kernel is a new boot) and by the bundle that wrote it.
 */
function reportCachePath(command: string[]): string | undefined {
  try {
    const boot = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
    const bundle = command.find((a) => a.endsWith(".js"));
    const made = bundle ? Deno.statSync(bundle).mtime?.getTime() ?? 0 : 0;
    return `${Deno.env.get("TMPDIR") ?? "/tmp"}/nettrace-test-check-${boot}-${made}.txt`;
  } catch {
    return undefined;
  }
}

async function runCheck(): Promise<Map<string, CapabilityRow>> {
  if (kernelTestSkipReason()) return new Map();
  const [cmd, ...args] = nettraceCommand(["--check"]);
  const cache = reportCachePath([cmd, ...args]);
  try {
    if (cache) return parseCheckReport(Deno.readTextFileSync(cache));
  } catch { /* not read yet in this boot */ }
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`nettrace --check failed: ${new TextDecoder().decode(out.stderr)}`);
  const report = new TextDecoder().decode(out.stdout);
  if (cache) {
    try {
      // the reports of other boots and bundles go
      const dir = cache.slice(0, cache.lastIndexOf("/"));
      for (const e of Deno.readDirSync(dir)) {
        if (/^nettrace-test-check-.*\.txt$/.test(e.name)) Deno.removeSync(`${dir}/${e.name}`);
      }
      Deno.writeTextFileSync(`${cache}.${Deno.pid}`, report);
      Deno.renameSync(`${cache}.${Deno.pid}`, cache);
    } catch { /* kept for no one: the next file runs --check again */ }
  }
  return parseCheckReport(report);
}

/** The running kernel's report (empty where real-kernel tests cannot run). */
export const capabilities: Map<string, CapabilityRow> = await runCheck();

/** Attach kinds this environment promises (NETTRACE_EXPECT_ATTACH, comma or space separated). */
export const expectedAttach: Set<string> = new Set(
  (Deno.env.get("NETTRACE_EXPECT_ATTACH") ?? "").split(/[\s,]+/).filter((s) => s),
);

/**
 * Where `nettrace --drop` sees drops when left to choose (--attach-method auto, as root): kfree_skb typed by the
 * kernel's BTF where tp_btf works (or the environment promises it), else the classic tracepoint.
 */
export const autoDropPoint: string = capabilities.get("tp_btf")?.available || expectedAttach.has("tp_btf")
  ? "tp_btf kfree_skb"
  : "tracepoint skb:kfree_skb";

/**
 * A real-kernel test that needs the attach kinds in `needs`. Skipped (reason
 * printed) when one is unavailable, unless this environment expects it.
 */
export function attachTest(needs: string[], name: string, fn: () => Promise<void>): void {
  const base = kernelTestSkipReason();
  let skip = base;
  if (!skip) {
    const missing = needs.filter((k) => !capabilities.get(k)?.available && !expectedAttach.has(k));
    if (missing.length) {
      skip = missing.map((k) => `${k}: ${capabilities.get(k)?.detail ?? "not in the report"}`).join("; ");
    }
  }
  if (skip && !base) console.log(`skipped "${name}": this kernel lacks ${skip}`);
  Deno.test({
    name,
    ignore: skip !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      for (const k of needs) {
        const c = capabilities.get(k);
        if (!c?.available) throw new Error(`${k} is expected here but nettrace --check says: ${c?.detail}`);
      }
      await fn();
    },
  });
}

const FUNCTION_METHODS = ["fentry", "kprobe-multi", "kprobe"];

/**
 * Whether fentry and fexit programs attach here: what the environment promises (NETTRACE_EXPECT_ATTACH), else
 * `nettrace --check`'s word. Fails when the promise and --check disagree.
 */
export function fentryHere(): boolean {
  if (kernelTestSkipReason()) return false;
  const found = ["fentry", "fexit"].every((k) => capabilities.get(k)?.available);
  if (!expectedAttach.size) return found;
  const promised = expectedAttach.has("fentry") && expectedAttach.has("fexit");
  if (promised && !found) throw new Error("fentry and fexit are expected here but nettrace --check finds them missing");
  return promised;
}

/**
 * Whether kernel functions can be traced here, decided by a fact that does
 * not come from nettrace: what the environment promises (NETTRACE_EXPECT_ATTACH,
 * set by the guest suite), else whether the kernel has kprobe events
 * (CONFIG_KPROBE_EVENTS: tracefs has kprobe_events). Fails when that fact and
 * `nettrace --check` disagree, so a broken probe cannot flip a test's
 * assertions to the tracepoint-only ones and pass.
 */
export function functionProbesHere(): boolean {
  if (kernelTestSkipReason()) return false;
  const promised = expectedAttach.size
    ? FUNCTION_METHODS.some((k) => expectedAttach.has(k))
    : ["/sys/kernel/tracing/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events"].some(pathExists);
  const found = FUNCTION_METHODS.filter((k) => capabilities.get(k)?.available);
  if (promised && !found.length) {
    throw new Error(
      `function probes are expected here (${expectedAttach.size ? "NETTRACE_EXPECT_ATTACH" : "kprobe_events"}) ` +
        `but nettrace --check finds none`,
    );
  }
  if (!promised && found.length && !expectedAttach.size) {
    throw new Error(`this kernel has no kprobe events, yet nettrace --check finds ${found.join(", ")}`);
  }
  return promised;
}
