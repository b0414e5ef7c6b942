/**
 * Diagnosis rules (rules/diagnosis.yaml and --rules FILE; the schema is in
 * rules/README.md): each rule names the trace points it is about and the
 * conditions an event must meet there, and yields a level, a message and an
 * advice. Parsing is pure; a malformed file gives one RuleFileError naming
 * the file, the line and the field.
 * @module
 */
import { isMapping } from "../runtime/yaml.ts";
import { parseRuleYaml, RuleFileError } from "./rule_file_error.ts";
import { TCP_CA_STATES, TCP_STATES } from "../packet/tcp_states.ts";
import { type Verdict, VERDICTS } from "../event/netfilter_verdict.ts";

/** How bad a finding is. */
export type Level = "INFO" | "WARN" | "ERROR";

/** A condition on a number (a return value). */
export type NumberTest =
  | { op: "eq" | "ne" | "lt" | "gt"; value: bigint }
  | { op: "range"; min: bigint; max: bigint };

/** One rule. */
export interface Rule {
  /** tracer tree leaves it is about (empty: any point of `groups`) */
  points: string[];
  /** tracer tree groups it is about, "*" for all (empty: only `points`) */
  groups: string[];
  ret?: NumberTest;
  /** drop reason names (without the SKB_DROP_REASON_ prefix), or a reset's reasons (without SK_RST_REASON_) */
  reasons?: string[];
  /** functions where the skb was freed (the free's location, without +0xoff) */
  locations?: string[];
  /** whether the free carries no drop reason (kernels before 5.17 name none) */
  noReason?: boolean;
  verdict?: Verdict;
  /** transport protocol: tcp, udp, icmp, icmpv6 */
  proto?: string;
  /** states of the packet's TCP socket (ESTABLISHED, SYN_SENT, LISTEN, ...) */
  tcpStates?: string[];
  /** TCP flags, any of them (letters as printed: S A P R F U E C) */
  tcpFlags?: string;
  /** whether the packet's addresses or ports differ from the previous point that showed them */
  addrChanged?: boolean;
  /** socket events: the congestion state entered (tcp_cong_state_set), else the socket's (Open ... Loss) */
  caStates?: string[];
  /** socket events: whether TCP left Recovery or Loss by undoing its window reduction (spurious retransmissions) */
  undone?: boolean;
  level: Level;
  message: string;
  advice?: string;
  /** where it was written */
  file: string;
  line: number;
}

const FIELDS = new Set([
  "point",
  "group",
  "ret",
  "reason",
  "location",
  "no_reason",
  "verdict",
  "proto",
  "tcp_state",
  "tcp_flags",
  "addr_changed",
  "ca_state",
  "undone",
  "level",
  "message",
  "advice",
]);
const LEVELS: Record<string, Level> = { INFO: "INFO", WARN: "WARN", WARNING: "WARN", ERROR: "ERROR" };
const PROTOS = new Set(["tcp", "udp", "icmp", "icmpv6"]);
const NAME = /^([A-Za-z_][A-Za-z0-9_.-]*|\*)$/;

function names(v: unknown, fail: (why: string) => never, re: RegExp, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) fail(`needs at least one ${what}`);
  for (const n of list) if (typeof n !== "string" || !re.test(n)) fail(`${JSON.stringify(n)} is not a ${what}`);
  return list as string[];
}

function integer(v: unknown, fail: (why: string) => never): bigint {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?(0x[0-9a-f]+|\d+)$/i.test(v)) {
    return v.startsWith("-") ? -BigInt(v.slice(1)) : BigInt(v);
  }
  fail(`${JSON.stringify(v)} is not an integer`);
}

function numberTest(v: unknown, fail: (why: string) => never): NumberTest {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail("needs one of eq, ne, lt, gt, range");
  const keys = Object.keys(v);
  if (keys.length !== 1) fail("needs exactly one of eq, ne, lt, gt, range");
  const [op] = keys;
  const arg = (v as Record<string, unknown>)[op];
  if (op === "range") {
    if (!Array.isArray(arg) || arg.length !== 2) fail("range needs [min, max]");
    const [min, max] = [integer(arg[0], fail), integer(arg[1], fail)];
    if (min > max) fail("range needs min <= max");
    return { op, min, max };
  }
  if (op === "eq" || op === "ne" || op === "lt" || op === "gt") return { op, value: integer(arg, fail) };
  fail(`unknown test '${op}' (eq, ne, lt, gt, range)`);
}

/** Parses a rule file's text. */
export function parseRules(text: string, file: string): Rule[] {
  const doc = parseRuleYaml(text, file);
  if (doc.value === null || doc.value === undefined) return [];
  if (!Array.isArray(doc.value)) throw new RuleFileError(file, 1, "top", "must be a list of rules (- point: ...)");
  const rules: Rule[] = [];
  for (const item of doc.value) {
    const line = doc.lineOf(item) ?? 1;
    if (!isMapping(item)) throw new RuleFileError(file, line, "rule", "must be a map (point:, level:, message:, ...)");
    const lineOf = (key: string): number => doc.keyLine(item, key) ?? line;
    const v = item;
    const failAt = (field: string) => (why: string): never => {
      throw new RuleFileError(file, lineOf(field), field, why);
    };
    for (const k of Object.keys(v)) {
      if (!FIELDS.has(k)) failAt(k)(`unknown field (${[...FIELDS].join(", ")})`);
    }
    if (v.point === undefined && v.group === undefined) failAt("point")("a rule needs point or group");
    const rule: Rule = {
      points: v.point === undefined ? [] : names(v.point, failAt("point"), NAME, "point name"),
      groups: v.group === undefined ? [] : names(v.group, failAt("group"), NAME, "group name"),
      level: "INFO",
      message: "",
      file,
      line,
    };
    if (v.ret !== undefined) rule.ret = numberTest(v.ret, failAt("ret"));
    if (v.reason !== undefined) {
      rule.reasons = names(v.reason, failAt("reason"), /^[A-Z][A-Z0-9_]*$/, "drop reason name (NO_SOCKET)")
        .map((r) => r.replace(/^(SKB_DROP_REASON_|SK_RST_REASON_)/, ""));
    }
    if (v.location !== undefined) rule.locations = names(v.location, failAt("location"), NAME, "function name");
    if (v.verdict !== undefined) {
      if (typeof v.verdict !== "string" || !VERDICTS.has(v.verdict)) {
        failAt("verdict")("is accept, drop, stolen or queue");
      }
      rule.verdict = v.verdict as Verdict;
    }
    if (v.proto !== undefined) {
      if (typeof v.proto !== "string" || !PROTOS.has(v.proto)) failAt("proto")("is tcp, udp, icmp or icmpv6");
      rule.proto = v.proto as string;
    }
    if (v.tcp_state !== undefined) {
      rule.tcpStates = names(
        v.tcp_state,
        failAt("tcp_state"),
        /^[A-Z_0-9]+$/,
        "TCP state (ESTABLISHED, SYN_SENT, ...)",
      );
      for (const st of rule.tcpStates) {
        if (!TCP_STATES.includes(st) || !st) {
          failAt("tcp_state")(`'${st}' is not a TCP state (${TCP_STATES.slice(1).join(", ")})`);
        }
      }
    }
    if (v.tcp_flags !== undefined) {
      if (typeof v.tcp_flags !== "string" || !/^[SAPRFUEC]+$/.test(v.tcp_flags)) {
        failAt("tcp_flags")("is letters of S A P R F U E C");
      }
      rule.tcpFlags = v.tcp_flags as string;
    }
    if (v.addr_changed !== undefined) {
      if (typeof v.addr_changed !== "boolean") failAt("addr_changed")("is true or false");
      rule.addrChanged = v.addr_changed as boolean;
    }
    if (v.ca_state !== undefined) {
      rule.caStates = names(
        v.ca_state,
        failAt("ca_state"),
        /^[A-Za-z]+$/,
        "congestion state (Open, Recovery, Loss, ...)",
      );
      for (const st of rule.caStates) {
        if (!TCP_CA_STATES.includes(st)) {
          failAt("ca_state")(`'${st}' is not a congestion state (${TCP_CA_STATES.join(", ")})`);
        }
      }
    }
    if (v.no_reason !== undefined) {
      if (typeof v.no_reason !== "boolean") failAt("no_reason")("is true or false");
      rule.noReason = v.no_reason as boolean;
    }
    if (v.undone !== undefined) {
      if (typeof v.undone !== "boolean") failAt("undone")("is true or false");
      rule.undone = v.undone as boolean;
    }
    const level = typeof v.level === "string" ? LEVELS[v.level.toUpperCase()] : undefined;
    if (!level) failAt("level")("is required: INFO, WARN or ERROR");
    rule.level = level as Level;
    if (typeof v.message !== "string" || !v.message.trim()) failAt("message")("is required text");
    rule.message = (v.message as string).trim();
    if (v.advice !== undefined) {
      if (typeof v.advice !== "string" || !v.advice.trim()) failAt("advice")("must be text");
      rule.advice = (v.advice as string).trim();
    }
    rules.push(rule);
  }
  return rules;
}

/** Checks rules against the tracer tree: every point and group they name must exist in it. */
export function checkRuleNames(rules: Rule[], points: Set<string>, groups: Set<string>): void {
  for (const r of rules) {
    for (const p of r.points) {
      if (!points.has(p)) throw new RuleFileError(r.file, r.line, "point", `'${p}' is not a point of the tracer tree`);
    }
    for (const g of r.groups) {
      if (g !== "*" && !groups.has(g)) {
        throw new RuleFileError(r.file, r.line, "group", `'${g}' is not a group of the tracer tree`);
      }
    }
  }
}
