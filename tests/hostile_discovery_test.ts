/**
 * Hostile discovery inputs against a running agent (issue 9, item 4).
 *
 * 1. Malformed and enormous file_sd files and http_sd answers: each one is
 *    refused with a logged reason naming it and a counted error
 *    (`prometheus_sd_file_read_errors_total`, `prometheus_sd_http_failures_total`),
 *    the job keeps scraping its last good targets, and the agent's memory stays
 *    bounded (50 MB files, 1M targets, a 16 MiB pile of empty objects, an
 *    endless answer).
 * 2. Churn: thousands of targets appearing and vanishing every two seconds
 *    while a stable set stays. The stable targets are scraped on their own
 *    schedule only (not again at every discovery update), new targets are
 *    spread over their interval instead of being scraped all at once, and the
 *    agent's memory stays bounded.
 *
 * Every target is a path of one HTTP server in this process
 * (`__metrics_path__` set per group), which counts the scrapes of each.
 */

import { assert, assertEquals, assertStringIncludes } from "../src/testing/assert.ts";
import { freePort, getText, metricValue, type Proc, startAgent, waitFor } from "./helpers.ts";

/** "Memory stays bounded": a generous absolute bound on the agent's RSS. */
const RSS_BOUND = 400 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One HTTP server for every target; records when each path was scraped. */
function startTargets() {
  const scrapes = new Map<string, number[]>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    let list = scrapes.get(path);
    if (list === undefined) scrapes.set(path, list = []);
    list.push(Date.now());
    return new Response("# TYPE t gauge\nt 1\n", {
      headers: { "Content-Type": "text/plain; version=0.0.4" },
    });
  });
  return { addr: `127.0.0.1:${server.addr.port}`, scrapes, stop: () => server.shutdown() };
}

/** A target group of one target, told apart by its path. */
const group = (addr: string, path: string) => ({
  targets: [addr],
  labels: { __metrics_path__: path },
});

/** Writes a file atomically, as config management does. */
async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  if (typeof data === "string") await Deno.writeTextFile(file + ".tmp", data);
  else await Deno.writeFile(file + ".tmp", data);
  await Deno.rename(file + ".tmp", file);
}

interface ActiveTarget {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
}

async function activeTargets(web: string): Promise<ActiveTarget[]> {
  const body = JSON.parse(await getText(`${web}/api/v1/targets?state=active`));
  return body.data.activeTargets;
}

/** Scrape URLs of one job's active targets, sorted. */
async function urlsOf(web: string, job: string): Promise<string[]> {
  return (await activeTargets(web)).filter((t) => t.scrapePool === job).map((t) => t.scrapeUrl)
    .sort();
}

async function metric(web: string, series: string): Promise<number> {
  return metricValue(await getText(`${web}/metrics`), series) ?? NaN;
}

/** Fails with the agent's log tail. */
function withLog(agent: Proc, e: unknown): Error {
  return new Error(`${(e as Error).message}\n--- ferry (tail) ---\n${agent.output().slice(-4000)}`);
}

Deno.test({
  name: "hostile discovery: malformed and enormous file_sd/http_sd documents keep the last good " +
    "targets, are logged and counted, and memory stays bounded",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ferry-hostile-sd-" });
    const targets = startTargets();
    const good = [group(targets.addr, "/metrics/http-good")];
    /** What the http_sd endpoint answers now. */
    let answer: () => Response = () => Response.json(good);
    const sd = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => answer(),
    );
    const sdUrl = `http://127.0.0.1:${sd.addr.port}/sd`;
    await Deno.mkdir(`${dir}/sd`);
    const goodFile = JSON.stringify([group(targets.addr, "/metrics/file-good")]);
    const file = `${dir}/sd/targets.json`;
    const yamlFile = `${dir}/sd/targets.yml`;
    await writeAtomic(file, goodFile);
    await writeAtomic(
      yamlFile,
      `- targets: ['${targets.addr}']\n  labels: {__metrics_path__: /metrics/yaml-good}\n`,
    );
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: files
    file_sd_configs:
      - files: [${dir}/sd/*.json, ${dir}/sd/*.yml]
        refresh_interval: 1s
  - job_name: http
    http_sd_configs:
      - url: ${sdUrl}
        refresh_interval: 1s
`,
    );
    const webPort = freePort();
    const web = `http://127.0.0.1:${webPort}`;
    const agent = startAgent([
      `--config.file=${dir}/prometheus.yml`,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ]);
    const fileUrls = [
      `http://${targets.addr}/metrics/file-good`,
      `http://${targets.addr}/metrics/yaml-good`,
    ];
    const httpUrls = [`http://${targets.addr}/metrics/http-good`];
    try {
      await waitFor("the good targets, up", async () => {
        const ts = await activeTargets(web);
        return ts.length === 3 && ts.every((x) => x.health === "up") ? true : undefined;
      }, 30_000);
      assertEquals(await urlsOf(web, "files"), fileUrls);
      assertEquals(await urlsOf(web, "http"), httpUrls);

      /** Applies a hostile input, waits for its counted error and log line, checks nothing changed. */
      const refused = async (
        counter: string,
        apply: () => Promise<void> | void,
        logged: string,
      ) => {
        const before = await metric(web, counter);
        const logBefore = agent.output().length;
        await apply();
        await waitFor(`${counter} to count it`, async () => {
          const n = await metric(web, counter);
          return n > before && agent.output().slice(logBefore).includes(logged) ? true : undefined;
        }, 20_000);
        assertEquals(await urlsOf(web, "files"), fileUrls, "file_sd keeps its last good targets");
        assertEquals(await urlsOf(web, "http"), httpUrls, "http_sd keeps its last good targets");
        const rss = agent.rssBytes();
        assert(rss < RSS_BOUND, `RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
      };
      const FILE_ERRORS = "prometheus_sd_file_read_errors_total";
      const HTTP_ERRORS = "prometheus_sd_http_failures_total";
      const fileCases: [string, () => Promise<void>, string][] = [
        ["JSON syntax error", () => writeAtomic(file, '[{"targets": ["a:1"]'), "invalid JSON"],
        [
          "wrong types: targets a string",
          () => writeAtomic(file, '[{"targets": "a:1"}]'),
          "must be a list of strings",
        ],
        [
          "wrong types: a label value a number",
          () => writeAtomic(file, '[{"targets": ["a:1"], "labels": {"a": 1}}]'),
          'label \\"a\\" must be a string',
        ],
        [
          "invalid label name (empty)",
          () => writeAtomic(file, '[{"targets": ["a:1"], "labels": {"": "x"}}]'),
          "not a valid label name",
        ],
        [
          "invalid UTF-8 in a label value (a lone surrogate)",
          () => writeAtomic(file, '[{"targets": ["a:1"], "labels": {"a": "\\ud800"}}]'),
          "is not valid UTF-8",
        ],
        [
          "YAML: an unknown field, with its line",
          () => writeAtomic(yamlFile, "- targets: [a:1]\n  lables: {}\n"),
          'group 0 (line 1): unknown field \\"lables\\"',
        ],
        [
          "50 MB of JSON",
          () =>
            writeAtomic(
              file,
              '[{"targets": [' + `"${targets.addr}",`.repeat(50_000_000 / 18) + '"a:1"]}]',
            ),
          "over the 16777216-byte limit of a file_sd file",
        ],
        [
          "1M targets",
          () => writeAtomic(file, '[{"targets": [' + '"a:1",'.repeat(999_999) + '"a:1"]}]'),
          "1000000 targets, more than the limit of 100000 per document",
        ],
        [
          "16 MiB of empty objects",
          () => writeAtomic(file, "[" + "{},".repeat(5_000_000) + "{}]"),
          "more than 500000 JSON objects and lists",
        ],
      ];
      for (const [name, apply, logged] of fileCases) {
        await t.step(`file_sd: ${name}`, async () => {
          try {
            await refused(FILE_ERRORS, apply, logged);
          } catch (e) {
            throw withLog(agent, e);
          }
        });
      }
      /** Discovery sends a pool at most one update per 5 s: a change would be visible after that. */
      const stillGood = async () => {
        await sleep(5_500);
        assertEquals(await urlsOf(web, "files"), fileUrls);
        assertEquals(await urlsOf(web, "http"), httpUrls);
        assert((await activeTargets(web)).every((x) => x.health === "up"), "still scraped");
      };
      await t.step("file_sd: after all that, still the last good targets, scraped", stillGood);

      const json = (body: string | ReadableStream<Uint8Array>) =>
        new Response(body, { headers: { "Content-Type": "application/json" } });
      const httpCases: [string, () => Response, string][] = [
        ["JSON syntax error", () => json('[{"targets": ["a:1"]'), "invalid JSON"],
        [
          "no targets",
          () => json('[{"labels": {"a": "b"}}]'),
          'group 0: \\"targets\\" is required',
        ],
        ["HTTP 500", () => new Response("boom", { status: 500 }), "HTTP status 500"],
        [
          "wrong content type",
          () => new Response(JSON.stringify(good), { headers: { "Content-Type": "text/html" } }),
          "unsupported content type",
        ],
        [
          "1M targets",
          () => json('[{"targets": [' + '"a:1",'.repeat(999_999) + '"a:1"]}]'),
          "1000000 targets, more than the limit of 100000 per document",
        ],
        [
          "an endless answer (cut at 16 MiB)",
          () => {
            const chunk = new TextEncoder().encode('"a:1",'.repeat(10_000));
            let sent = 0;
            return json(
              new ReadableStream<Uint8Array>({
                pull(c) {
                  // 60 KB a pull, ~300 MB in all: far past the limit, never ends in the test's time.
                  if (sent++ === 0) c.enqueue(new TextEncoder().encode('[{"targets": ['));
                  else if (sent < 5000) c.enqueue(chunk);
                  else c.close();
                },
              }),
            );
          },
          "response exceeds the 16777216-byte limit",
        ],
      ];
      for (const [name, respond, logged] of httpCases) {
        await t.step(`http_sd: ${name}`, async () => {
          try {
            await refused(HTTP_ERRORS, () => void (answer = respond), logged);
          } catch (e) {
            throw withLog(agent, e);
          }
        });
      }
      await t.step("http_sd: after all that, still the last good targets, scraped", stillGood);

      await t.step("a good document is taken again after all that", async () => {
        await writeAtomic(file, JSON.stringify([group(targets.addr, "/metrics/file-new")]));
        answer = () => Response.json([group(targets.addr, "/metrics/http-new")]);
        await waitFor("the new targets", async () => {
          const f = await urlsOf(web, "files");
          const h = await urlsOf(web, "http");
          return f.includes(`http://${targets.addr}/metrics/file-new`) &&
              h[0] === `http://${targets.addr}/metrics/http-new`
            ? true
            : undefined;
        }, 20_000);
        const rss = agent.rssBytes();
        assert(rss < RSS_BOUND, `RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
        assertStringIncludes(agent.output(), "keeping the last good targets");
      });
      assertEquals((await agent.stop("SIGTERM")).code, 0, agent.output().slice(-3000));
    } finally {
      await agent.stop();
      await sd.shutdown();
      await targets.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "hostile discovery: 1000 targets replaced every 2 s cause no scrape storm, " +
    "and memory stays bounded",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const INTERVAL_S = 15;
    const STABLE = 200;
    const CHURN = 1000;
    const ROUNDS = 13;
    const dir = await Deno.makeTempDir({ prefix: "ferry-churn-sd-" });
    const targets = startTargets();
    await Deno.mkdir(`${dir}/sd`);
    const stable = Array.from({ length: STABLE }, (_, i) => group(targets.addr, `/metrics/s${i}`));
    await writeAtomic(`${dir}/sd/stable.json`, JSON.stringify(stable));
    const churn = (round: number) =>
      JSON.stringify(
        Array.from({ length: CHURN }, (_, i) => group(targets.addr, `/metrics/c${round}_${i}`)),
      );
    await writeAtomic(`${dir}/sd/churn.json`, churn(0));
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      `global:
  scrape_interval: ${INTERVAL_S}s
  scrape_timeout: 5s
scrape_configs:
  - job_name: churn
    file_sd_configs:
      - files: [${dir}/sd/*.json]
`,
    );
    const webPort = freePort();
    const web = `http://127.0.0.1:${webPort}`;
    const agent = startAgent([
      `--config.file=${dir}/prometheus.yml`,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ]);
    try {
      await waitFor("the first targets", async () => {
        const n = await metric(web, 'prometheus_target_scrape_pool_targets{scrape_job="churn"}');
        return n === STABLE + CHURN ? true : undefined;
      }, 30_000);
      const start = Date.now();
      let maxRss = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        await writeAtomic(`${dir}/sd/churn.json`, churn(round));
        await sleep(2000);
        maxRss = Math.max(maxRss, agent.rssBytes());
      }
      const elapsedS = (Date.now() - start) / 1000;
      const updates = await metric(web, 'prometheus_sd_updates_total{name="scrape"}');

      // Discovery throttles: at most one update per 5 s reached the pool.
      assert(updates <= 2 + elapsedS / 5, `${updates} updates in ${elapsedS.toFixed(0)} s`);
      assert(updates >= 4, `churn reached the pool (${updates} updates)`);

      // The stable targets were scraped on their schedule, not at every update.
      let most = 0;
      for (let i = 0; i < STABLE; i++) {
        const n = targets.scrapes.get(`/metrics/s${i}`)?.filter((at) => at >= start).length ?? 0;
        most = Math.max(most, n);
      }
      const allowed = Math.floor(elapsedS / INTERVAL_S) + 2;
      assert(
        most <= allowed,
        `a stable target was scraped ${most} times in ${elapsedS.toFixed(0)} s at a ` +
          `${INTERVAL_S} s interval (at most ${allowed}); ${updates} updates`,
      );

      // New targets are spread over their interval: no second holds a burst of scrapes.
      const perSecond = new Map<number, number>();
      let churned = 0;
      for (const [path, times] of targets.scrapes) {
        for (const at of times) {
          if (at < start) continue;
          if (path.startsWith("/metrics/c")) churned++;
          const s = Math.floor(at / 1000);
          perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
        }
      }
      const busiest = Math.max(...perSecond.values());
      // (STABLE + CHURN) / INTERVAL_S = 80 a second; one update's 1000 new targets at once is a storm.
      assert(busiest <= 400, `${busiest} scrapes in one second`);
      assert(churned > CHURN / 2, `churned targets were scraped (${churned})`);

      maxRss = Math.max(maxRss, agent.rssBytes());
      assert(maxRss < RSS_BOUND, `RSS peaked at ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
      assertEquals((await agent.stop("SIGTERM")).code, 0, agent.output().slice(-3000));
    } catch (e) {
      throw withLog(agent, e);
    } finally {
      await agent.stop();
      await targets.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
