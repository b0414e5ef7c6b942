/**
 * Finds a kernel function among names (kallsyms' text symbols, or the
 * functions ftrace can hook): by its own name, or as a variant the compiler
 * made of it (name.isra.0, name.constprop.0, name.cold, ...), which is the
 * symbol to attach to. Pure.
 * @module
 */

/** A lookup over names: the name itself when present, else its first variant, else undefined. */
export function functionLookup(names: ReadonlySet<string>): (name: string) => string | undefined {
  let variants: Map<string, string> | undefined;
  return (name) => {
    if (names.has(name)) return name;
    if (!variants) {
      variants = new Map();
      for (const n of names) {
        const dot = n.indexOf(".");
        if (dot > 0 && !variants.has(n.slice(0, dot))) variants.set(n.slice(0, dot), n);
      }
    }
    return variants.get(name);
  };
}
