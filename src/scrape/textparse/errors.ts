/**
 * Errors of the exposition-format parsers.
 *
 * @module
 */

/**
 * Malformed exposition text. One invalid line fails the whole scrape, as in
 * Prometheus. `line` and `column` are 1-based; the column counts UTF-16 code
 * units from the start of the line.
 */
export class ParseError extends SyntaxError {
  /** 1-based line number of the offending line. */
  readonly line: number;
  /** 1-based column of the offending character. */
  readonly column: number;
  /** The reason without the `line N: ` prefix. */
  readonly reason: string;

  constructor(reason: string, line: number, column: number) {
    super(`line ${line}: ${reason}`);
    this.name = "ParseError";
    this.reason = reason;
    this.line = line;
    this.column = column;
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
