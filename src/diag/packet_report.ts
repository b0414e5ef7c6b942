/**
 * --diag for one run: the rules in force, what this kernel lets them see,
 * and per packet (or socket block) the marks on its lines and its ANALYSIS
 * RESULT.
 * @module
 */
import type { KernelEvent, SocketEvent } from "../event/decode.ts";
import { KIND } from "../event/layout.ts";
import type { DropReasons } from "../event/drop_reasons.ts";
import { dropReasonShown, reasonName } from "../event/drop_reasons.ts";
import type { FindingReport } from "./finding_report.ts";
import type { ReasonText } from "./drop_reason_text.ts";
import type { Diagnoser, Finding } from "./diagnoser.ts";
import { diagnosePacket, diagnoseSocket } from "./packet_diagnosis.ts";

/** One packet (or socket block), diagnosed. */
export interface PacketReport {
  /** per event, the messages of its findings (every level), shown on its line */
  messages: string[][];
  /** the WARN and ERROR findings, for the ANALYSIS RESULT */
  findings: FindingReport[];
  /** what this run could not check, said with every ANALYSIS RESULT */
  notes: readonly string[];
  /** some finding is WARN or ERROR */
  abnormal: boolean;
  /** some finding is ERROR */
  error: boolean;
}

/** What a diagnosis run needs of the kernel and the trace points. */
export interface DiagnosisSetup {
  /** the rules in force */
  diagnoser: Diagnoser;
  pointName(point: number): string;
  pointGroup(point: number): string;
  reasons: DropReasons;
  reasonTexts: Map<string, ReasonText>;
  /** func+0xoff of a kernel address */
  symbolize(addr: bigint): string;
  /** names of the points attached in this run */
  attached: Set<string>;
  /** why function points are missing here, when they are */
  functionsMissing?: string;
  /** --hooks: name the hook functions at a netfilter finding */
  showHooks?: boolean;
  /** the name of a reset's reason value (kernels 6.10 and later) */
  resetReasonName?(value: number): string | undefined;
}

const MAX_NAMED = 8;
/** the point whose `reason` is a reset's reason, not a drop's */
const RESET_POINT = "tcp_send_active_reset";

/** Diagnoses packets of one run. */
export class PacketDiagnosis {
  /** said in every ANALYSIS RESULT: the checks this kernel does not allow */
  readonly notes: string[] = [];

  constructor(readonly setup: DiagnosisSetup) {
    const unseen = new Set<string>();
    let rules = 0;
    for (const r of setup.diagnoser.rules) {
      if (r.points.length && !r.points.some((p) => setup.attached.has(p))) {
        rules++;
        for (const p of r.points) unseen.add(p);
      }
    }
    if (setup.reasons.source === "none") {
      // rules on reset reasons (tcp_send_active_reset) are not drop reasons
      const reasonRules = setup.diagnoser.rules.filter((r) => r.reasons && !r.points.includes(RESET_POINT)).length;
      this.notes.push(
        `not available on this kernel: ${reasonRules} rules on drop reasons (kernels before 5.17 name none); ` +
          "a drop's finding comes from where the skb was freed and from return values",
      );
    }
    if (rules) {
      const names = [...unseen];
      const listed = names.slice(0, MAX_NAMED).join(", ") + (names.length > MAX_NAMED ? ", ..." : "");
      this.notes.push(
        `not checked here: ${rules} rules at ${names.length} points that are not traced in this run` +
          `${setup.functionsMissing ? ` (${setup.functionsMissing})` : ""}: ${listed}`,
      );
    }
  }

  #context() {
    const s = this.setup;
    return {
      pointName: s.pointName,
      pointGroup: s.pointGroup,
      reasonName: (v: number) => (v ? reasonName(s.reasons, v) : undefined),
      functionAt: (a: bigint) => s.symbolize(a).split("+")[0],
      resetReasonName: s.resetReasonName,
    };
  }

  /** Diagnoses one packet's events (in time order). */
  report(events: readonly KernelEvent[]): PacketReport {
    const findings = diagnosePacket(events, this.setup.diagnoser, this.#context());
    return this.#result(findings, (f, i) => this.#detail(f, events[i]));
  }

  /** Diagnoses one socket block's events (in time order). */
  reportSocket(events: SocketEvent[]): PacketReport {
    const findings = diagnoseSocket(events, this.setup.diagnoser, this.#context());
    return this.#result(findings, (f, i) => {
      const reset = events[i].rstReason ? this.setup.resetReasonName?.(events[i].rstReason) : undefined;
      return { finding: f, advice: f.advice, resetReason: reset };
    });
  }

  #result(findings: Finding[][], detail: (f: Finding, event: number) => FindingReport): PacketReport {
    const messages = findings.map((fs) => fs.map((f) => f.message));
    const reports: FindingReport[] = [];
    findings.forEach((fs, i) => {
      for (const f of fs) if (f.level !== "INFO") reports.push(detail(f, i));
    });
    const error = reports.some((r) => r.finding.level === "ERROR");
    return { messages, findings: reports, notes: this.notes, abnormal: reports.length > 0, error };
  }

  #detail(f: Finding, ev: KernelEvent): FindingReport {
    const ofPoint = f.rule.addrChanged === undefined;
    const reason = ofPoint ? dropReasonShown(this.setup.reasons, ev.reason) : undefined;
    const text = reason ? this.setup.reasonTexts.get(reason) : undefined;
    // without drop reasons (before 5.17), where a free happened is all the kernel says of it
    const bareFree = ofPoint && this.setup.reasons.source === "none" && ev.kind !== KIND.ret;
    return {
      finding: f,
      location: (reason || bareFree) && ev.location ? this.setup.symbolize(ev.location) : undefined,
      reason: reason ? { name: reason, meaning: text?.meaning } : undefined,
      advice: f.advice ?? text?.advice,
      hooks: this.setup.showHooks && ev.nf?.hooks.length
        ? ev.nf.hooks.map((a) => this.setup.symbolize(a).split("+")[0])
        : undefined,
    };
  }
}
