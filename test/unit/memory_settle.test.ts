import { assertEquals } from "../helpers/assert.ts";
import { readOnlyFileMappings } from "../../src/runtime/memory.ts";

Deno.test("settling memory: the read-only mappings of files are the ones paged out", () => {
  const maps = [
    "55d0c0000000-55d0c0400000 r--p 00000000 fe:01 1048601                    /usr/bin/deno",
    "55d0c0400000-55d0c5000000 r-xp 00400000 fe:01 1048601                    /usr/bin/deno",
    "55d0c5000000-55d0c5100000 rw-p 05000000 fe:01 1048601                    /usr/bin/deno",
    "7f1000000000-7f1000021000 rw-p 00000000 00:00 0 ",
    "7f1000100000-7f1000300000 rw-s 00000000 00:0f 2077                       anon_inode:bpf-map",
    "7f1000400000-7f1000401000 r--s 00000000 00:0f 2077                       anon_inode:bpf-map",
    "7f1000500000-7f1000680000 r--s 00000000 fe:01 3300001                    /root/.cache/deno/v8_code_cache_v2",
    "7f1000700000-7f1000701000 r--s 00000000 00:01 4400001                    /memfd:v8 (deleted)",
    "7f1000800000-7f1000801000 r--s 00000000 00:05 5500001                    /dev/zero",
    "7f2000000000-7f2000028000 r--p 00000000 fe:01 2100001                    /usr/lib/x86_64-linux-gnu/libc.so.6",
    "7f2000028000-7f200019d000 r-xp 00028000 fe:01 2100001                    /usr/lib/x86_64-linux-gnu/libc.so.6",
    "7f3000000000-7f3000001000 r--p 00000000 00:00 0                          [vvar]",
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]",
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
  ].join("\n");
  assertEquals(readOnlyFileMappings(maps), [
    { start: 0x55d0c0000000n, length: 0x400000n },
    { start: 0x55d0c0400000n, length: 0x4c00000n },
    { start: 0x7f1000500000n, length: 0x180000n },
    { start: 0x7f2000000000n, length: 0x28000n },
    { start: 0x7f2000028000n, length: 0x175000n },
  ]);
});

Deno.test("settling memory: this process's own code is among its read-only file mappings", () => {
  const ranges = readOnlyFileMappings(Deno.readTextFileSync("/proc/self/maps"));
  const exe = Deno.readTextFileSync("/proc/self/maps").split("\n").filter((l) => l.endsWith(Deno.execPath()));
  const exeCode = exe.find((l) => / r-xp /.test(l))!;
  const start = BigInt(`0x${exeCode.split("-")[0]}`);
  assertEquals(ranges.some((r) => r.start === start), true);
});
