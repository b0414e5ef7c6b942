/**
 * The source checkout's launcher (./nettrace): -h, -V and explain install
 * nothing. In a fresh copy of the checkout (no node_modules, no BPF objects)
 * they say in one line how to set up and exit 1, and the copy is left as it
 * was; in this set-up checkout they answer.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { sh } from "../helpers/netns.ts";
import { pathExists } from "../helpers/path_exists.ts";
import { LAUNCHER } from "../helpers/nettrace_process.ts";
import { VERSION } from "../../src/version.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("launcher: -h, -V and explain install nothing in a fresh checkout, and answer in a set-up one", async () => {
  const copy = await Deno.makeTempDir({ prefix: "nettrace-checkout-" });
  try {
    // a fresh clone's files: the committed tree, without what set-up and builds add
    const files = (await sh(["git", "-C", ROOT, "ls-files"])).stdout.split("\n").filter(Boolean);
    assert(files.includes("nettrace"), "git ls-files lists the checkout");
    const tar = await sh(["sh", "-c", `cd '${ROOT}' && git ls-files -z | xargs -0 tar -cf - | tar -xf - -C '${copy}'`]);
    assertEquals(tar.code, 0, tar.stderr);
    // no Deno on PATH either: only what a bare Debian has
    const env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", `HOME=${copy}`];
    const hasDenoOnPath = (await sh([...env, "sh", "-c", "command -v deno"])).code === 0;
    for (const args of [["-h"], ["-V"], ["explain", "NO_SOCKET"]]) {
      const r = await sh([...env, `${copy}/nettrace`, ...args]);
      assertEquals(r.code, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertMatch(
        r.stderr,
        hasDenoOnPath
          ? /^nettrace: not built yet \(no BPF objects\); .* installs nothing: run /
          : /^nettrace: not set up yet .* installs nothing: run /,
      );
      assertEquals(r.stdout, "");
    }
    assert(!await pathExists(`${copy}/node_modules`), "the launcher installed npm packages");
    assert(!await pathExists(`${copy}/bpf/.output`), "the launcher built the BPF objects");
  } finally {
    await Deno.remove(copy, { recursive: true });
  }

  const v = await sh([LAUNCHER, "-V"]);
  assertEquals([v.code, v.stdout.trim()], [0, `nettrace ${VERSION}`], v.stderr);
  const e = await sh([LAUNCHER, "explain", "NO_SOCKET"]);
  assertEquals(e.code, 0, e.stderr);
  assertMatch(e.stdout, /^NO_SOCKET \(/);
});
