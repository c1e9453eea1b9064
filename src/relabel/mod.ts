/**
 * Relabeling: Prometheus' relabel actions, RE2 regexes translated to
 * JavaScript, and Go's `$1` / `${name}` template expansion.
 *
 * @module
 */

export {
  CompiledRules,
  type CompileOptions,
  compileRules,
  goToLower,
  goToUpper,
  hashMod,
  type NameValidation,
  relabel,
  RelabelConfigError,
  type RelabelStep,
  relabelSteps,
} from "./relabel.ts";
export { compileRegex, type FastMatch, type TranslatedRegex, translateRegex } from "./regex.ts";
export {
  compileTemplate,
  expand,
  expandTemplate,
  parseTemplate,
  type Template,
  type TemplatePart,
} from "./expand.ts";
