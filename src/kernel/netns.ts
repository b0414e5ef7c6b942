/**
 * Network namespace identities.
 * @module
 */

/** Inode of the network namespace this process runs in. */
export function currentNetnsInode(): number {
  return Deno.statSync("/proc/self/ns/net").ino ?? 0;
}
