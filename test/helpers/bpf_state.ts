/**
 * What of nettrace is in the kernel right now, read with bpftool: its
 * programs (all named nt_*) and the links that attach them.
 */
import { assertEquals } from "./assert.ts";
import { must, sh } from "./netns.ts";
import { scaled } from "./time_scale.ts";

/**
 * Whether a tracepoint, kprobe or uprobe attachment shows as a BPF link (BPF_LINK_TYPE_PERF_EVENT, Linux
 * 5.15): before it, libbpf attaches those through a perf event's ioctl and `bpftool link` lists nothing.
 * Read from the kernel's BTF.
 */
export async function perfEventLinksShow(): Promise<boolean> {
  return /'BPF_LINK_TYPE_PERF_EVENT' val=/.test(await kernelBtfText());
}

/** The kernel's BTF as bpftool prints it. */
async function kernelBtfText(): Promise<string> {
  const r = await sh(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"]);
  if (r.code !== 0) throw new Error(`bpftool btf dump failed: ${r.stderr}`);
  return r.stdout;
}

/** Names of loaded BPF programs that are nettrace's. */
export async function ourPrograms(): Promise<string[]> {
  const out = await must(["bpftool", "-j", "prog", "show"]);
  return (JSON.parse(out) as Array<{ name?: string }>).map((p) => p.name ?? "").filter((n) => n.startsWith("nt_"));
}

/** Ids of BPF links whose program is nettrace's. */
export async function ourLinks(): Promise<number[]> {
  const progs = JSON.parse(await must(["bpftool", "-j", "prog", "show"])) as Array<{ id: number; name?: string }>;
  const ids = new Set(progs.filter((p) => (p.name ?? "").startsWith("nt_")).map((p) => p.id));
  const links = JSON.parse(await must(["bpftool", "-j", "link", "show"])) as Array<{ id: number; prog_id: number }>;
  return links.filter((l) => ids.has(l.prog_id)).map((l) => l.id);
}

/**
 * Asserts that no program or link of ours is left. The kernel frees a
 * program after its last fd closes, some (raw tracepoints) only after an RCU
 * grace period: so this waits up to 3 s (stretched for this machine) for them to go.
 */
export async function assertNothingLeft(what = ""): Promise<void> {
  let progs: string[] = [];
  const end = Date.now() + scaled(3000);
  while (true) {
    progs = await ourPrograms();
    if (progs.length === 0 || Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assertEquals(progs, [], `BPF programs of nettrace still loaded${what ? ` (${what})` : ""}`);
  assertEquals(await ourLinks(), [], `BPF links of nettrace still attached${what ? ` (${what})` : ""}`);
}
