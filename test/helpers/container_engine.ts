/**
 * Debian's podman as the container engine of the image tests (there is no
 * Docker engine here, and no image registry is reachable). Its settings for
 * this machine live in a containers.conf of the test's own, never in /etc:
 *  - runtime runc: crun refuses the hybrid cgroup v1/v2 hierarchy here;
 *  - the containers' rlimits no higher than this process's own hard limits
 *    (podman asks for more by default, which needs CAP_SYS_RESOURCE), and the
 *    process count no higher than 32768, what podman lowers its own to before
 *    it starts the runtime.
 * The base image (there is no registry to pull debian:bookworm from) is the
 * cached debootstrap root of the package test, imported as an image, with this
 * machine's own extra CA certificates, as a site's own base image has: the
 * build stage reaches the npm registry through TLS.
 */
import { cachedRoot } from "./debian_root.ts";
import { must, sh } from "./netns.ts";
import { commandExists } from "./kernel_env.ts";
import { pathExists } from "./path_exists.ts";

const EXTRA_CA_DIR = "/usr/local/share/ca-certificates";
/** The base image the Dockerfile's stages are built on here. */
export const BASE_IMAGE = "localhost/nettrace-test-base:bookworm";

/** The rlimit a container may have: this process's hard limit (prlimit reads it), capped. */
async function hardLimit(resource: "nofile" | "nproc", cap: number): Promise<number> {
  const out = await must([
    "prlimit",
    `--${resource}`,
    "--output",
    "HARD",
    "--noheadings",
    "--raw",
    "--pid",
    `${Deno.pid}`,
  ]);
  const hard = out.trim() === "unlimited" ? cap : Number(out.trim());
  return Math.min(hard, cap);
}

/** podman with this machine's settings (a containers.conf in dir). */
export interface Podman {
  /** the command line that runs podman with args */
  command(args: string[]): string[];
  /** runs podman with args; throws with its output when it fails */
  must(args: string[]): Promise<string>;
  /** runs podman with args */
  exec(args: string[]): ReturnType<typeof sh>;
}

/** Why no container can be built and run here, or undefined. */
export function podmanProblem(): string | undefined {
  for (const tool of ["podman", "runc"]) {
    if (!commandExists(tool)) return `'${tool}' is not installed (scripts/setup.sh --test installs it)`;
  }
  return undefined;
}

/** Writes the settings into dir and returns podman with them. */
export async function podmanIn(dir: string): Promise<Podman> {
  const nofile = await hardLimit("nofile", 1048576);
  const nproc = await hardLimit("nproc", 32768);
  const conf = `${dir}/containers.conf`;
  await Deno.writeTextFile(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n` +
      `[engine]\nruntime = "runc"\n`,
  );
  const command = (args: string[]) => ["env", `CONTAINERS_CONF=${conf}`, "podman", ...args];
  return { command, must: (args) => must(command(args)), exec: (args) => sh(command(args)) };
}

/** Whether the image exists in podman's store. */
async function hasImage(podman: Podman, image: string): Promise<boolean> {
  return (await podman.exec(["image", "exists", image])).code === 0;
}

/**
 * The base image, imported from the cached Debian root when it is not there yet (about 15 s), with this
 * machine's extra CA certificates added where update-ca-certificates finds them.
 */
export async function baseImage(podman: Podman, dir: string): Promise<string> {
  if (await hasImage(podman, BASE_IMAGE)) return BASE_IMAGE;
  const root = await cachedRoot();
  const tar = `${dir}/base.tar`;
  await must(["tar", "-C", root, "-cf", tar, "."]);
  const extras = `${dir}/extras`;
  await Deno.mkdir(`${extras}${EXTRA_CA_DIR}`, { recursive: true });
  if (await pathExists(EXTRA_CA_DIR)) {
    for await (const e of Deno.readDir(EXTRA_CA_DIR)) {
      if (e.name.endsWith(".crt")) {
        await Deno.copyFile(`${EXTRA_CA_DIR}/${e.name}`, `${extras}${EXTRA_CA_DIR}/${e.name}`);
      }
    }
  }
  await must(["tar", "-C", extras, "-rf", tar, `.${EXTRA_CA_DIR}`]);
  // Node.js (npm) reads the system's store only through this
  await podman.must([
    "import",
    "--change",
    "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
    tar,
    BASE_IMAGE,
  ]);
  await Deno.remove(tar);
  return BASE_IMAGE;
}
