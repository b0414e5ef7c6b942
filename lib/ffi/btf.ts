/**
 * Reading BTF type information through libbpf: the running kernel's
 * (/sys/kernel/btf/vmlinux or a file given for kernels without BTF) and a
 * loaded BPF object's.
 * @module
 */
import { checkPtr, libbpf, LibbpfError } from "./libbpf.ts";
import { cstr, errno, readCString } from "./libc.ts";

/** BTF kinds nettrace reads (include/uapi/linux/btf.h). */
export const BtfKind = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** One BTF type's header. */
export interface BtfType {
  id: number;
  kind: number;
  name: string;
  vlen: number;
  /** size for sized kinds, referenced type id for the others */
  sizeOrType: number;
}

/** A member of a struct or union; offset in bits. */
export interface BtfMember {
  name: string;
  typeId: number;
  bitOffset: number;
}

/** A parameter of a function: its name and its type spelled as C ("struct sk_buff *"). */
export interface BtfParam {
  name: string;
  typeName: string;
}

/** A variable of a data section (.rodata, .bss): offset and size in bytes. */
export interface BtfSecVar {
  name: string;
  offset: number;
  size: number;
}

const HEADER = 12;

/** A BTF object, either owned (freed by close) or borrowed from a BPF object. */
export class Btf {
  #ptr: Deno.PointerObject | null;
  readonly #owned: boolean;

  constructor(ptr: Deno.PointerObject, owned: boolean) {
    this.#ptr = ptr;
    this.#owned = owned;
  }

  /** The kernel's BTF, or the BTF in customPath (for kernels built without BTF). */
  static kernel(customPath?: string): Btf {
    const lib = libbpf();
    if (customPath) {
      return new Btf(checkPtr("btf__parse", lib.btf__parse(cstr(customPath), null), customPath), true);
    }
    return new Btf(checkPtr("btf__load_vmlinux_btf", lib.btf__load_vmlinux_btf()), true);
  }

  /** Why a file is not usable as BTF (libbpf's words), or undefined when it parses. */
  static problemWith(path: string): string | undefined {
    const p = libbpf().btf__parse(cstr(path), null);
    if (p) {
      libbpf().btf__free(p);
      return undefined;
    }
    const e = new LibbpfError("btf__parse", errno() || 22);
    return e.message.replace(/^btf__parse: /, "");
  }

  get #p(): Deno.PointerObject {
    if (!this.#ptr) throw new Error("BTF used after close");
    return this.#ptr;
  }

  /** Number of types (ids run from 1 to count - 1). */
  get count(): number {
    return libbpf().btf__type_cnt(this.#p);
  }

  /** Id of the type of that name and kind, or -1. */
  find(name: string, kind: number): number {
    const id = libbpf().btf__find_by_name_kind(this.#p, cstr(name), kind);
    return id < 0 ? -1 : id;
  }

  #view(id: number): Deno.UnsafePointerView {
    const t = libbpf().btf__type_by_id(this.#p, id);
    if (!t) throw new Error(`no BTF type ${id}`);
    return new Deno.UnsafePointerView(t);
  }

  #name(off: number): string {
    return readCString(libbpf().btf__name_by_offset(this.#p, off));
  }

  /** The header of type id. */
  type(id: number): BtfType {
    const v = this.#view(id);
    const info = v.getUint32(4);
    return {
      id,
      kind: (info >>> 24) & 0x1f,
      name: this.#name(v.getUint32(0)),
      vlen: info & 0xffff,
      sizeOrType: v.getUint32(8),
    };
  }

  /** Values of the named enum (ENUM or ENUM64) as value -> name, or undefined. */
  enumValues(name: string): Map<number, string> | undefined {
    let id = this.find(name, BtfKind.ENUM);
    let kind: number = BtfKind.ENUM;
    if (id < 0) {
      id = this.find(name, BtfKind.ENUM64);
      kind = BtfKind.ENUM64;
    }
    if (id < 0) return undefined;
    const t = this.type(id);
    const v = this.#view(id);
    const out = new Map<number, string>();
    const step = kind === BtfKind.ENUM ? 8 : 12;
    for (let i = 0; i < t.vlen; i++) {
      const o = HEADER + i * step;
      out.set(v.getUint32(o + 4), this.#name(v.getUint32(o)));
    }
    return out;
  }

  /** Members of the named struct, or undefined. */
  structMembers(name: string): BtfMember[] | undefined {
    const id = this.find(name, BtfKind.STRUCT);
    if (id < 0) return undefined;
    const t = this.type(id);
    const v = this.#view(id);
    const kflag = (v.getUint32(4) >>> 31) === 1;
    const members: BtfMember[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const o = HEADER + i * 12;
      const off = v.getUint32(o + 8);
      members.push({
        name: this.#name(v.getUint32(o)),
        typeId: v.getUint32(o + 4),
        bitOffset: kflag ? off & 0xffffff : off,
      });
    }
    return members;
  }

  /** Parameters of the named kernel function (FUNC -> FUNC_PROTO), or undefined. */
  funcParams(name: string): BtfParam[] | undefined {
    const id = this.find(name, BtfKind.FUNC);
    return id < 0 ? undefined : this.funcParamsById(id);
  }

  /** Every function (FUNC) with a parameter of the given C type, and that parameter's position. */
  functionsTaking(typeName: string): Array<{ name: string; position: number }> {
    const out: Array<{ name: string; position: number }> = [];
    const n = this.count;
    for (let id = 1; id < n; id++) {
      const v = this.#view(id);
      if (((v.getUint32(4) >>> 24) & 0x1f) !== BtfKind.FUNC) continue;
      const position = this.funcParamsById(id)?.findIndex((p) => p.typeName === typeName) ?? -1;
      if (position >= 0) out.push({ name: this.#name(v.getUint32(0)), position });
    }
    return out;
  }

  /** The C return type of the named kernel function ("int", "void", "struct sk_buff *"), or undefined. */
  funcReturnType(name: string): string | undefined {
    const id = this.find(name, BtfKind.FUNC);
    if (id < 0) return undefined;
    const proto = this.type(this.type(id).sizeOrType);
    return proto.kind === BtfKind.FUNC_PROTO ? this.typeName(proto.sizeOrType) : undefined;
  }

  /** Parameters of the FUNC type id, or undefined. */
  funcParamsById(id: number): BtfParam[] | undefined {
    const protoId = this.type(id).sizeOrType;
    const proto = this.type(protoId);
    if (proto.kind !== BtfKind.FUNC_PROTO) return undefined;
    const v = this.#view(protoId);
    const params: BtfParam[] = [];
    for (let i = 0; i < proto.vlen; i++) {
      const o = HEADER + i * 8;
      params.push({ name: this.#name(v.getUint32(o)), typeName: this.typeName(v.getUint32(o + 4)) });
    }
    return params;
  }

  /** A type spelled as C, qualifiers and typedefs kept: "struct sk_buff *", "u32". */
  typeName(id: number): string {
    let stars = "";
    for (let depth = 0; depth < 16; depth++) {
      if (id === 0) return `void${stars ? " " + stars : ""}`;
      const t = this.type(id);
      switch (t.kind) {
        case BtfKind.PTR:
          stars += "*";
          id = t.sizeOrType;
          continue;
        case BtfKind.CONST:
        case BtfKind.VOLATILE:
        case BtfKind.RESTRICT:
        case BtfKind.TYPE_TAG:
          id = t.sizeOrType;
          continue;
        default: {
          const prefix = t.kind === BtfKind.STRUCT
            ? "struct "
            : t.kind === BtfKind.UNION
            ? "union "
            : t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64
            ? "enum "
            : "";
          return `${prefix}${t.name || "(anon)"}${stars ? " " + stars : ""}`;
        }
      }
    }
    return `(deep)${stars}`;
  }

  /** Size in bytes of the named struct, or -1. */
  structSize(name: string): number {
    const id = this.find(name, BtfKind.STRUCT);
    return id < 0 ? -1 : this.type(id).sizeOrType;
  }

  /** Variables of a data section, e.g. ".rodata", with their offsets. */
  sectionVars(section: string): BtfSecVar[] {
    const id = this.find(section, BtfKind.DATASEC);
    if (id < 0) return [];
    const t = this.type(id);
    const v = this.#view(id);
    const vars: BtfSecVar[] = [];
    for (let i = 0; i < t.vlen; i++) {
      const o = HEADER + i * 12;
      vars.push({
        name: this.type(v.getUint32(o)).name,
        offset: v.getUint32(o + 4),
        size: v.getUint32(o + 8),
      });
    }
    return vars;
  }

  /** Frees an owned BTF; a borrowed one is only forgotten. */
  close(): void {
    if (this.#ptr && this.#owned) libbpf().btf__free(this.#ptr);
    this.#ptr = null;
  }
}
