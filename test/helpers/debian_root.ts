/**
 * A clean, minimal Debian 12 root (debootstrap --variant=minbase, with man-db
 * so `man` can be tried) for installing nettrace's .deb as a user would. The
 * root is made once and cached, with apt's lists and the runtime (libbpf,
 * libpcap) downloaded into its cache (installing then needs no network); each use gets a throw-away overlay on top of
 * it, with /proc, /sys (BTF), tracefs and /dev mounted, removed afterwards
 * even when the test fails.
 */
import { must, sh } from "./netns.ts";
import { pathExists } from "./path_exists.ts";

const CACHE = `${Deno.env.get("NETTRACE_PKG_CACHE") ?? `${Deno.env.get("HOME")}/.cache/nettrace-pkg`}`;
const ROOT = `${CACHE}/bookworm-minbase`;
const MIRROR = "http://deb.debian.org/debian";

/** What the .deb depends on: downloaded into the root's apt cache, installing needs no network then. */
const RUNTIME_PACKAGES = ["libbpf1", "libpcap0.8"];

/** Whether every runtime package is in the root's apt cache. */
async function runtimeDownloaded(root: string): Promise<boolean> {
  const have = new Set<string>();
  try {
    for await (const e of Deno.readDir(`${root}/var/cache/apt/archives`)) have.add(e.name.split("_")[0]);
  } catch { /* no cache */ }
  return RUNTIME_PACKAGES.every((p) => have.has(p));
}

/**
 * The cached root, made when it is not there yet (about 40 s with a near mirror): debootstrap, then apt's
 * package lists and the .deb's dependencies downloaded (not installed), so that installing the .deb with apt
 * needs no network (the qemu guests have none).
 */
export async function cachedRoot(): Promise<string> {
  if (await pathExists(`${ROOT}/etc/debian_version`)) {
    if (await runtimeDownloaded(ROOT)) return ROOT;
    // a root made before a dependency was added: download what is missing
    const r = await sh(["chroot", ROOT, "apt-get", "install", "-y", "-qq", "--download-only", ...RUNTIME_PACKAGES]);
    if (r.code === 0 && await runtimeDownloaded(ROOT)) return ROOT;
  }
  await Deno.mkdir(CACHE, { recursive: true });
  const building = `${ROOT}.building`;
  await sh(["rm", "-rf", building, ROOT]);
  console.log(`making a minimal Debian 12 root with debootstrap (cached in ${ROOT})`);
  const r = await sh(["debootstrap", "--variant=minbase", "--include=man-db", "bookworm", building, MIRROR]);
  if (r.code !== 0) throw new Error(`debootstrap failed (${r.code}): ${(r.stderr || r.stdout).slice(-2000)}`);
  await Deno.copyFile("/etc/resolv.conf", `${building}/etc/resolv.conf`);
  await must(["chroot", building, "apt-get", "update", "-qq"]);
  await must(["chroot", building, "apt-get", "install", "-y", "-qq", "--download-only", ...RUNTIME_PACKAGES]);
  await must(["mv", building, ROOT]);
  return ROOT;
}

/** A throw-away Debian root: commands run in it with chroot. */
export interface DebianRoot {
  /** its path on the host */
  path: string;
  /** the command line that runs cmd inside it */
  command(cmd: string[]): string[];
  /** runs cmd inside it; throws with its output when it fails */
  must(cmd: string[]): Promise<string>;
  /** runs cmd inside it */
  exec(cmd: string[]): ReturnType<typeof sh>;
}

/** Runs body with a fresh overlay of the cached root; unmounts and removes everything afterwards. */
export async function withDebianRoot(body: (root: DebianRoot) => Promise<void>): Promise<void> {
  const lower = await cachedRoot();
  const work = await Deno.makeTempDir({ prefix: "nettrace-debroot-" });
  const path = `${work}/root`;
  const mounted: string[] = [];
  const mount = async (args: string[], at: string) => {
    await must(["mount", ...args, at]);
    mounted.push(at);
  };
  try {
    for (const d of ["upper", "work", "root"]) await Deno.mkdir(`${work}/${d}`);
    await mount(
      ["-t", "overlay", "-o", `lowerdir=${lower},upperdir=${work}/upper,workdir=${work}/work`, "overlay"],
      path,
    );
    await mount(["-t", "proc", "proc"], `${path}/proc`);
    await mount(["-t", "sysfs", "sysfs"], `${path}/sys`);
    await mount(["-t", "tracefs", "tracefs"], `${path}/sys/kernel/tracing`);
    await mount(["--bind", "/dev"], `${path}/dev`);
    await Deno.copyFile("/etc/resolv.conf", `${path}/etc/resolv.conf`);
    const command = (
      cmd: string[],
    ) => [
      "chroot",
      path,
      "/usr/bin/env",
      "-i",
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root",
      "LANG=C.UTF-8",
      "TERM=dumb",
      ...cmd,
    ];
    await body({
      path,
      command,
      must: (cmd) => must(command(cmd)),
      exec: (cmd) => sh(command(cmd)),
    });
  } finally {
    for (const at of mounted.reverse()) {
      if ((await sh(["umount", at])).code !== 0) await sh(["umount", "-l", at]);
    }
    await sh(["rm", "-rf", work]);
  }
}

// `deno run -A test/helpers/debian_root.ts`: makes the cached root now (test/vm/suite.sh, before a guest without
// network uses it)
if (import.meta.main) console.log(`Debian root: ${await cachedRoot()}`);
