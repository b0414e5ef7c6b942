import { assertEquals } from "../helpers/assert.ts";
import { releaseAtLeast } from "../../src/kernel/release.ts";

Deno.test("kernel release: compared by major and minor version", () => {
  assertEquals(releaseAtLeast("6.1.0-57-amd64", 5, 16), true);
  assertEquals(releaseAtLeast("5.16.0", 5, 16), true);
  assertEquals(releaseAtLeast("5.10.0-46-amd64", 5, 16), false);
  assertEquals(releaseAtLeast("4.19.0", 5, 16), false);
  assertEquals(releaseAtLeast("6.18.44", 6, 18), true);
  assertEquals(releaseAtLeast("unknown", 5, 16), false);
});
