/**
 * -o/--output FILE: where results go instead of stdout. The file is created
 * 0600 (it can hold what every process on the host sent), never opened
 * through a symbolic link, and appended to unless --output-truncate asks to
 * empty it. With --output-rotate SIZE,COUNT a write that would take it past
 * SIZE first moves it to FILE.1 (FILE.1 to FILE.2, ..., keeping COUNT).
 * -w FILE (pcapng) is opened the same way.
 * @module
 */
import { closeFd, errnoText, openForAppend, writeAll } from "../../lib/ffi/libc.ts";
import { HostError, UsageError } from "../errors.ts";

/** --output-rotate: the size that starts a new file, and how many old ones are kept. */
export interface RotateSpec {
  size: number;
  count: number;
}

const ELOOP = 40;
const FILE_MODE = 0o600;

function open(path: string, truncate: boolean, option: string): { fd: number; size: number } {
  const r = openForAppend(path, truncate, FILE_MODE);
  if (typeof r !== "number") return r;
  if (-r === ELOOP) throw new UsageError(`${option} '${path}': a symbolic link: nettrace does not write through one`);
  throw new UsageError(`${option} '${path}': cannot open it for writing: ${errnoText(-r)}`);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The results file; LineWriter writes to it as to stdout. */
export class OutputFile {
  #fd: number;
  #size: number;

  private constructor(
    readonly path: string,
    readonly rotate: RotateSpec | undefined,
    readonly option: string,
    f: { fd: number; size: number },
  ) {
    this.#fd = f.fd;
    this.#size = f.size;
  }

  /** Opens (or creates) the file; a path nettrace may not write is bad input. option: named in messages. */
  static open(path: string, truncate: boolean, rotate?: RotateSpec, option = "-o"): OutputFile {
    return new OutputFile(path, rotate, option, open(path, truncate, option));
  }

  /** Bytes in the current file. */
  get size(): number {
    return this.#size;
  }

  /** Writes data whole (rotating first when it would pass the size); returns its length. */
  writeSync(data: Uint8Array): number {
    if (this.rotate && this.#size > 0 && this.#size + data.length > this.rotate.size) this.#rotate();
    try {
      this.#size += writeAll(this.#fd, data as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new HostError(`${this.option} '${this.path}': ${(e as Error).message}`);
    }
    return data.length;
  }

  #rotate(): void {
    closeFd(this.#fd);
    const { count } = this.rotate!;
    // rename moves a name, never what a symbolic link points to
    for (let i = count - 1; i >= 1; i--) {
      if (exists(`${this.path}.${i}`)) Deno.renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    Deno.renameSync(this.path, `${this.path}.1`);
    const f = open(this.path, true, this.option);
    this.#fd = f.fd;
    this.#size = f.size;
  }

  close(): void {
    closeFd(this.#fd);
  }
}
