/**
 * The reason texts shipped with nettrace: rules/drop_reasons.yaml, embedded
 * as text (a compiled binary has it too) and parsed at run time.
 * @module
 */
import reasonsText from "../../rules/drop_reasons.yaml" with { type: "text" };
import { parseReasonTexts, type ReasonText } from "./drop_reason_text.ts";

/** Parses the shipped reason texts. */
export function loadReasonTexts(): Map<string, ReasonText> {
  return parseReasonTexts(reasonsText, "rules/drop_reasons.yaml");
}
