/**
 * A kernel release string's version ("6.1.0-57-amd64" is 6.1), for the few
 * facts that the kernel's types cannot tell.
 * @module
 */

/** Whether the release is major.minor or later; false when it does not start with a version. */
export function releaseAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
