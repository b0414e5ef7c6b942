/**
 * Shell completions for bash and fish, written from the option table so they
 * offer what -h lists. Pure: scripts/write_docs.ts writes them to files.
 * @module
 */
import { type OptionSpec } from "./options.ts";
import { ETHERTYPES, IP_PROTOCOLS } from "../packet/protocols.ts";
import { ATTACH_METHODS } from "../bpf/attach_method.ts";

/** Values an option (by long name) takes from a fixed set, offered by the completions. */
export type OptionChoices = Readonly<Record<string, readonly string[]>>;

/** The fixed sets of values nettrace's options take, from the tables that parse them. */
export const OPTION_CHOICES: OptionChoices = {
  proto: [...new Set([...ETHERTYPES, ...IP_PROTOCOLS].map(([name]) => name))],
  "attach-method": ATTACH_METHODS,
  "ring-reader": ["mmap", "callback"],
  transport: ["auto", "ringbuf", "perf"],
};

/** Options whose value is a file name. */
const FILE_VALUES = new Set(["FILE"]);

function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The bash completion script (bash-completion's completions/nettrace). */
export function bashCompletion(options: readonly OptionSpec[], choices: OptionChoices): string {
  const names = (s: OptionSpec) => [
    ...(s.short ? [`-${s.short}`] : []),
    `--${s.long}`,
    ...(s.aliases ?? []).map((a) => `--${a}`),
  ];
  const words = options.flatMap(names);
  const cases = options.filter((s) => s.value).map((s) => {
    const pattern = names(s).join("|");
    const list = choices[s.long];
    const action = list
      ? `COMPREPLY=($(compgen -W ${shellWord(list.join(" "))} -- "$cur"))`
      : FILE_VALUES.has(s.value!)
      ? `COMPREPLY=($(compgen -f -- "$cur"))`
      : "COMPREPLY=()";
    return `    ${pattern}) ${action}; return ;;`;
  });
  return [
    "# bash completion for nettrace (written from its option table)",
    "_nettrace() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  case "$prev" in',
    ...cases,
    "  esac",
    '  if [ "$COMP_CWORD" -eq 1 ] && [[ "$cur" != -* ]]; then',
    '    COMPREPLY=($(compgen -W "explain" -- "$cur")); return',
    "  fi",
    `  COMPREPLY=($(compgen -W ${shellWord(words.join(" "))} -- "$cur"))`,
    "}",
    "complete -F _nettrace nettrace",
    "",
  ].join("\n");
}

/** The fish completion script (vendor_completions.d/nettrace.fish). */
export function fishCompletion(options: readonly OptionSpec[], choices: OptionChoices): string {
  const lines = options.map((s) => {
    const parts = ["complete -c nettrace"];
    if (s.short) parts.push(`-s ${s.short}`);
    parts.push(`-l ${s.long}`);
    for (const a of s.aliases ?? []) parts.push(`-l ${a}`);
    if (s.value) {
      const list = choices[s.long];
      if (list) parts.push(`-x -a ${shellWord(list.join(" "))}`);
      else if (FILE_VALUES.has(s.value)) parts.push("-r -F");
      else parts.push("-x");
    }
    parts.push(`-d ${shellWord(s.help)}`);
    return parts.join(" ");
  });
  return [
    "# fish completion for nettrace (written from its option table)",
    "complete -c nettrace -n __fish_use_subcommand -a explain -d 'what a drop reason means'",
    ...lines,
    "",
  ].join("\n");
}
