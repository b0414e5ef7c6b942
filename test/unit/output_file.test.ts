/** -o FILE: created 0600, appended to unless asked, never through a symbolic link, rotated at its size. */
import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { OutputFile } from "../../src/runtime/output_file.ts";
import { parseRotateOption } from "../../src/cli/values.ts";
import { parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";

const enc = new TextEncoder();

async function inTempDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("output file: created 0600; appended to; emptied only with truncate", () =>
  inTempDir((dir) => {
    const path = `${dir}/out.txt`;
    let f = OutputFile.open(path, false);
    f.writeSync(enc.encode("one\n"));
    f.close();
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    f = OutputFile.open(path, false);
    assertEquals(f.size, 4);
    f.writeSync(enc.encode("two\n"));
    f.close();
    assertEquals(Deno.readTextFileSync(path), "one\ntwo\n");
    OutputFile.open(path, true).close();
    assertEquals(Deno.readTextFileSync(path), "");
  }));

Deno.test("output file: a symbolic link is refused, and what it points to is left alone", () =>
  inTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/precious`, "keep");
    Deno.symlinkSync(`${dir}/precious`, `${dir}/link`);
    const e = assertThrows(() => OutputFile.open(`${dir}/link`, true), UsageError);
    assertEquals(e.message, `-o '${dir}/link': a symbolic link: nettrace does not write through one`);
    assertEquals(Deno.readTextFileSync(`${dir}/precious`), "keep");
    assertThrows(() => OutputFile.open(`${dir}/no/such/dir/f`, false), UsageError, "No such file or directory");
  }));

Deno.test("output file: rotation keeps COUNT old files, newest in FILE.1", () =>
  inTempDir((dir) => {
    const path = `${dir}/r.log`;
    const f = OutputFile.open(path, false, { size: 10, count: 2 });
    for (const line of ["aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n", "gggg\n"]) {
      f.writeSync(enc.encode(line));
    }
    f.close();
    assertEquals(Deno.readTextFileSync(path), "gggg\n");
    assertEquals(Deno.readTextFileSync(`${path}.1`), "eeee\nffff\n");
    assertEquals(Deno.readTextFileSync(`${path}.2`), "cccc\ndddd\n");
    // only COUNT old files are kept
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["r.log", "r.log.1", "r.log.2"]);
    assertEquals(Deno.statSync(`${path}.1`).mode! & 0o777, 0o600);
  }));

Deno.test("output options: SIZE,COUNT parsed; misuse is bad input", () => {
  assertEquals(parseRotateOption("--output-rotate", "100M,5"), { size: 100 * 1024 * 1024, count: 5 });
  assertEquals(parseRotateOption("--output-rotate", "64k,1"), { size: 65536, count: 1 });
  assertThrows(() => parseRotateOption("--output-rotate", "100M"), UsageError, "is not SIZE,COUNT");
  assertThrows(() => parseRotateOption("--output-rotate", "1K,2"), UsageError, "too small");
  assertThrows(() => parseRotateOption("--output-rotate", "1M,0"), UsageError, "keep 1 to 100");
  assertThrows(() => parseArgs(["--drop", "--output-rotate", "1M,2"]), UsageError, "--output-rotate is for -o FILE");
  assertThrows(() => parseArgs(["--drop", "--output-truncate"]), UsageError, "--output-truncate is for -o FILE");
  assertThrows(() => parseArgs(["--check", "-o", "/tmp/x"]), UsageError, "not --check");
  assertEquals(parseArgs(["--drop", "-o", "/tmp/x", "--output-truncate"]).output, "/tmp/x");
});
