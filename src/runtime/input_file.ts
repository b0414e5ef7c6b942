/**
 * Files the user names on the command line (--btf FILE, --rules FILE): why
 * one cannot be read as a file at all, in words for a one-line error.
 * @module
 */

/** "no such file", "a directory, not a KIND", ...; undefined for a readable regular file. */
export function inputFileProblem(path: string, kind: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "no such file" : `cannot read it: ${(e as Error).message}`;
  }
  if (info.isDirectory) return `a directory, not a ${kind}`;
  if (!info.isFile) return "not a regular file";
  if (info.size === 0) return `empty, not a ${kind}`;
  try {
    using f = Deno.openSync(path, { read: true });
    f.readSync(new Uint8Array(1));
  } catch (e) {
    return `cannot read it: ${(e as Error).message}`;
  }
  return undefined;
}
