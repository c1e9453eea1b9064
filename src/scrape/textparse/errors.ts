/**
 * Errors of the exposition-format parsers.
 *
 * @module
 */

/**
 * Malformed exposition text. One invalid line fails the whole scrape, as in
 * Prometheus. `line` and `column` are 1-based; the column counts UTF-16 code
 * units from the start of the line. Errors in a binary (protobuf) body carry
 * the byte `offset` instead (then `line` is 1 and `column` the offset + 1).
 */
export class ParseError extends SyntaxError {
  /** 1-based line number of the offending line. */
  readonly line: number;
  /** 1-based column of the offending character. */
  readonly column: number;
  /** The reason without the `line N: ` prefix. */
  readonly reason: string;
  /** 0-based byte offset in a binary body; null for text. */
  readonly offset: number | null;

  constructor(reason: string, line: number, column: number, opts: { offset?: number } = {}) {
    super(opts.offset === undefined ? `line ${line}: ${reason}` : `byte ${opts.offset}: ${reason}`);
    this.name = "ParseError";
    this.reason = reason;
    this.line = line;
    this.column = column;
    this.offset = opts.offset ?? null;
  }

  /** The error for byte `offset` (0-based) of a binary body. */
  static atByte(offset: number, reason: string): ParseError {
    return new ParseError(reason, 1, offset + 1, { offset });
  }

  /** Builds the error for offset `pos` of `text`, working out line and column. */
  static at(text: string, pos: number, reason: string): ParseError {
    if (pos > text.length) pos = text.length;
    let line = 1;
    let lineStart = 0;
    for (let i = text.indexOf("\n"); i >= 0 && i < pos; i = text.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return new ParseError(reason, line, pos - lineStart + 1);
  }
}

/**
 * A series has more labels with a non-empty value than the parser was told
 * to build (its `maxLabels` option); thrown by `labels()`, which then builds
 * none. The scrape loop reports it as `label_limit` exceeded.
 */
export class TooManyLabelsError extends Error {
  constructor(
    /** The series' metric name. */
    readonly metric: string,
    /** Labels with a non-empty value the series has, the metric name not counted. */
    readonly count: number,
    /** The parser's `maxLabels`. */
    readonly max: number,
  ) {
    super(`series ${JSON.stringify(metric)} has ${count} labels, more than ${max}`);
    this.name = "TooManyLabelsError";
  }
}
