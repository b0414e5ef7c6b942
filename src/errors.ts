/**
 * The two ways nettrace refuses to run, each with its exit status.
 * @module
 */

/** Bad input from the user: one line on stderr, exit status 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** The host cannot run nettrace (not root, no BTF, no libbpf...): exit status 1. */
export class HostError extends Error {
  readonly exitCode = 1;
}
