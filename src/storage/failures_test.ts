import { assertEquals } from "../testing/assert.ts";
import type { Logger } from "../util/log.ts";
import { FailureLog } from "./failures.ts";

function recorder(): { logger: Logger; lines: [string, string, Record<string, unknown>][] } {
  const lines: [string, string, Record<string, unknown>][] = [];
  const at = (level: string) => (msg: string, props: Record<string, unknown>) =>
    lines.push([level, msg, props]);
  const logger = { error: at("error"), info: at("info") } as unknown as Logger;
  return { logger, lines };
}

Deno.test("FailureLog: the first failure is logged, repeats at most every everyMs with their sums, and the recovery once", () => {
  let t = 0;
  const { logger, lines } = recorder();
  const f = new FailureLog(logger, {
    message: "Cannot write",
    recovered: "Works again",
    everyMs: 10_000,
    now: () => t,
  });
  f.ok(); // nothing to end
  f.fail(new Error("disk full"), { file: "x" }, { samples: 10 });
  for (let i = 0; i < 4; i++) {
    t += 1000;
    f.fail(new Error("disk full"), { file: "x" }, { samples: 10 });
  }
  t += 10_000;
  f.fail(new Error("disk full"), { file: "x" }, { samples: 5 });
  t += 500;
  f.ok();
  f.ok();
  assertEquals(lines, [
    ["error", "Cannot write", { error: "Error: disk full", file: "x", samples: 10 }],
    ["error", "Cannot write (still failing)", {
      error: "Error: disk full",
      file: "x",
      failures: 5,
      samples: 45,
    }],
    ["info", "Works again", { failures: 6, failing_seconds: 14.5, samples: 55 }],
  ]);
  assertEquals(f.failing, false);
});
