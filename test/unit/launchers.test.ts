/** Every way nettrace is started runs it with the same V8 flags: the bounded young generation (see ./nettrace). */
import { assertEquals } from "../helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FLAG = "--v8-flags=--max-semi-space-size=2,--expose-gc";

Deno.test("launchers: ./nettrace, the package's launcher, deno compile, deno task start and the tests pass the V8 flags", () => {
  const count = (path: string) => Deno.readTextFileSync(ROOT + path).split(FLAG).length - 1;
  assertEquals(
    {
      launcher: count("nettrace"),
      packageAndCompile: count("scripts/package.sh"),
      taskStart: count("deno.json"),
      tests: count("test/helpers/nettrace_process.ts"),
    },
    { launcher: 1, packageAndCompile: 2, taskStart: 1, tests: 1 },
  );
});
