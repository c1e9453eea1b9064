/**
 * Relabeling: Prometheus' relabel actions, RE2 regexes (translated to
 * JavaScript, or run on re2js where that is not exact or not linear-time),
 * and Go's `$1` / `${name}` template expansion.
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
export {
  type Backtracking,
  compileRegex,
  type FastMatch,
  type RegexEngine,
  type RegexMatch,
  type TranslatedRegex,
  type TranslateOptions,
  translateRegex,
} from "./regex.ts";
export {
  compileTemplate,
  expand,
  expandTemplate,
  parseTemplate,
  type Template,
  type TemplatePart,
} from "./expand.ts";
