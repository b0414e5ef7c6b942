/**
 * Whether tc's netem qdisc can be used here: sch_netem is a module of
 * Debian's kernels; this development host's kernel has none.
 */
import { kernelTestSkipReason } from "./kernel_env.ts";

/** Why netem cannot be used here, undefined when it can (tried on lo of a throw-away namespace). */
export async function netemMissing(): Promise<string | undefined> {
  if (kernelTestSkipReason()) return kernelTestSkipReason();
  const ns = `nt_netem_${Deno.pid}`;
  await new Deno.Command("ip", { args: ["netns", "add", ns] }).output();
  try {
    const r = await new Deno.Command("ip", {
      args: ["netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
      stderr: "piped",
    }).output();
    return r.success ? undefined : `no netem qdisc here (${new TextDecoder().decode(r.stderr).trim()})`;
  } finally {
    await new Deno.Command("ip", { args: ["netns", "del", ns] }).output();
  }
}
