/**
 * The container image as users build and run it: the Dockerfile built by
 * Debian's podman (test/helpers/container_engine.ts says how it is set up
 * here), its runtime stage checked for what it must not hold, and
 * `nettrace --drop` run in it with the mounts the README gives, catching a SYN
 * this test sends to a closed port in a namespace of its own.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { closedPortSynDrop } from "../helpers/drop_reason_column.ts";
import { removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { traceUntil } from "../helpers/nettrace_process.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { baseImage, podmanIn, podmanProblem } from "../helpers/container_engine.ts";
import { VERSION } from "../../src/version.ts";

await removeStaleNamespaces();

const ROOT = new URL("../../", import.meta.url).pathname;
const IMAGE = "localhost/nettrace-test:latest";
const CONTAINER = "nettrace-test-drop";
/** The mounts of the README's `docker run` line. */
const RUN_OPTIONS = [
  "--privileged",
  "--pid=host",
  "--network=host",
  "-v",
  "/sys/kernel/btf:/sys/kernel/btf:ro",
  "-v",
  "/sys/kernel/tracing:/sys/kernel/tracing",
  "-v",
  "/sys/fs/bpf:/sys/fs/bpf",
];

kernelTest(
  "container: the Dockerfile builds, its runtime stage has no compiler, and --drop in it catches a drop",
  async () => {
    const problem = podmanProblem();
    assert(problem === undefined, `no container engine: ${problem}`);
    const dir = await Deno.makeTempDir({ prefix: "nettrace-container-" });
    const podman = await podmanIn(dir);
    try {
      const base = await baseImage(podman, dir);
      const started = Date.now();
      const build = await podman.exec([
        "build",
        "--network=host",
        "--build-arg",
        `BUILD_BASE=${base}`,
        "--build-arg",
        `RUNTIME_BASE=${base}`,
        "-t",
        IMAGE,
        ROOT,
      ]);
      assertEquals(build.code, 0, `podman build failed:\n${(build.stdout + build.stderr).slice(-4000)}`);
      console.log(`image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);

      // the runtime stage: the package and the libbpf and libpcap runtimes, no compiler, bpftool, npm or Node.js
      const run = (entrypoint: string, args: string[]) =>
        podman.must(["run", "--rm", "--network=none", "--entrypoint", entrypoint, IMAGE, ...args]);
      const found = await run("sh", [
        "-c",
        "for t in clang llc gcc bpftool npm node; do command -v $t; done; echo checked",
      ]);
      assertEquals(found.trim(), "checked", `the runtime stage holds build tools:\n${found}`);
      for (const pkg of ["nettrace", "libbpf1", "libpcap0.8"]) {
        assertEquals(await run("dpkg-query", ["-W", "-f", "${Status}", pkg]), "install ok installed");
      }
      assertEquals((await podman.must(["run", "--rm", "--network=none", IMAGE, "-V"])).trim(), `nettrace ${VERSION}`);

      await withNet("ctr", async (net) => {
        // a tcpdump expression: the image's libpcap compiles it
        const args = ["--drop", `tcp dst port 9 and dst host ${net.v4.b}`];
        try {
          const r = await traceUntil(
            args,
            () => net.tcpConnect(net.a, net.v4.b, 9),
            closedPortSynDrop(),
            podman.command(["run", "--rm", "--name", CONTAINER, ...RUN_OPTIONS, IMAGE, ...args]),
          );
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stdout, closedPortSynDrop());
        } finally {
          await podman.exec(["rm", "-f", "--time", "0", CONTAINER]);
        }
      });
    } finally {
      await podman.exec(["rmi", "-f", IMAGE]);
      // the build stage's layers (1.5 GB): the next build starts from the base image again
      await podman.exec(["image", "prune", "-f"]);
      await Deno.remove(dir, { recursive: true });
    }
    await assertNothingLeft("after nettrace --drop in the container");
  },
);
