/**
 * The web UI in headless Chromium (Debian `chromium`, driven by
 * playwright-core) against a real agent process: every page loads without
 * console errors, shows the running target and endpoint, a target's relabel
 * steps open on click, and a screenshot of each page lands in `tests/out/`.
 * With 10,000 targets, the Targets page shows the first page and moves from
 * page to page, and the home page lists a bounded number of rows.
 */

import { chromium } from "playwright-core";
import { assert, assertEquals } from "../src/testing/assert.ts";
import { findBinary, freePort, getText, ROOT, skipLoudly, startAgent, waitFor } from "./helpers.ts";

const OUT = `${ROOT}tests/out`;

/** Headless Chromium as the tests run it. */
function launch(executablePath: string) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A scrape target with a counter and HELP/TYPE lines, and a remote-write sink answering 204. */
function startServers() {
  let writes = 0;
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      "# HELP ui_test_requests_total Requests seen.\n# TYPE ui_test_requests_total counter\n" +
        "ui_test_requests_total 1\n",
      { headers: { "content-type": "text/plain; version=0.0.4" } },
    ));
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    writes++;
    return new Response(null, { status: 204 });
  });
  return {
    targetPort: target.addr.port,
    sinkPort: sink.addr.port,
    writes: () => writes,
    stop: async () => {
      await target.shutdown();
      await sink.shutdown();
    },
  };
}

Deno.test({
  name: "ui: every page renders in Chromium, relabel steps open, screenshots written",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const browserPath = findBinary("chromium");
    if (browserPath === null) {
      skipLoudly("tests/ui_test.ts", "chromium is not installed (apt-get install chromium)");
      return;
    }
    await Deno.mkdir(OUT, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix: "ferry-ui-" });
    const servers = startServers();
    const webPort = freePort();
    const cfg = `${dir}/agent.config.ts`;
    // One target kept (relabeled: a "team" label) and one dropped by relabeling.
    await Deno.writeTextFile(
      cfg,
      `export default {
  global: { scrapeInterval: "1s", scrapeTimeout: "1s" },
  scrapeConfigs: [{
    jobName: "web",
    staticConfigs: [{ targets: ["127.0.0.1:${servers.targetPort}", "127.0.0.1:1"] }],
    relabelConfigs: [
      { sourceLabels: ["__address__"], regex: ".*:1", action: "drop" },
      { targetLabel: "team", replacement: "ui" },
    ],
  }],
  remoteWrite: [{
    url: "http://127.0.0.1:${servers.sinkPort}/api/v1/write",
    name: "sink",
    queueConfig: { batchSendDeadline: "1s" },
  }],
};
`,
    );
    const agent = startAgent([
      cfg,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ]);
    const base = `http://127.0.0.1:${webPort}`;
    const targetUrl = `http://127.0.0.1:${servers.targetPort}/metrics`;
    let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
    try {
      await waitFor("the target to be up", async () => {
        const j = JSON.parse(await getText(`${base}/api/v1/targets?state=active`));
        return j.data.activeTargets[0]?.health === "up" ? true : undefined;
      }, 60_000);
      await waitFor("a remote write", () => Promise.resolve(servers.writes() > 0 || undefined));
      // The API routes the pages build on, against the real agent.
      const meta = await waitFor("metadata of the scraped counter", async () => {
        const j = JSON.parse(
          await getText(`${base}/api/v1/targets/metadata?metric=ui_test_requests_total`),
        );
        return j.data.length > 0 ? j.data : undefined;
      });
      assertEquals(meta[0].type, "counter");
      assertEquals(meta[0].help, "Requests seen.");
      const steps = JSON.parse(
        await getText(
          `${base}/api/v1/targets/relabel_steps?scrapePool=web&labels=${
            encodeURIComponent(JSON.stringify({ __address__: "127.0.0.1:1", job: "web" }))
          }`,
        ),
      );
      assertEquals(steps.data.steps.map((s: { keep: boolean }) => s.keep), [false]);

      browser = await launch(browserPath);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));

      /** What each page must show once its data arrived. */
      const pages: [string, string, string][] = [
        ["home", "/", `127.0.0.1:${servers.targetPort}`],
        ["targets", "/targets", targetUrl],
        ["service-discovery", "/service-discovery", `127.0.0.1:${servers.targetPort}`],
        ["remote-write", "/remote-write", "sink"],
        ["wal", "/wal", "Segments"],
        ["config", "/config", "sink"],
        ["flags", "/flags", "web.listen-address"],
        ["status", "/status", Deno.version.deno],
      ];
      for (const [name, path, expect] of pages) {
        await page.goto(base + path, { waitUntil: "load" });
        await page.getByText(expect, { exact: false }).first().waitFor({ timeout: 15_000 })
          .catch((e: Error) => {
            throw new Error(`${path}: "${expect}" not shown: ${e.message}`);
          });
        if (path !== "/") {
          const line = await page.locator("#status-line").textContent();
          assert(!line?.includes("failed"), `${path}: ${line}`);
        }
        // The shared nav links every page.
        for (
          const href of ["/", "/targets", "/service-discovery", "/remote-write", "/wal", "/status"]
        ) {
          assertEquals(
            await page.locator(`header nav a[href="${href}"]`).count(),
            1,
            `${path}: nav`,
          );
        }
        if (name === "targets") {
          assertEquals(await page.locator("#targets-table .health-up").count(), 1);
          await page.getByText('team="ui"').first().waitFor({ timeout: 5000 });
        }
        if (name === "remote-write") {
          await page.getByText("prometheus.WriteRequest").first().waitFor({ timeout: 5000 });
        }
        if (name === "service-discovery") {
          // Dropped target listed; clicking the active one opens its relabel steps.
          await page.locator("tr.sd-target.dropped").first().waitFor({ timeout: 5000 });
          await page.locator("tr.sd-target:not(.dropped)").first().click();
          await page.locator("tr.relabel-step").nth(1).waitFor({ timeout: 10_000 });
          const steps = await page.locator("tr.steps").textContent();
          assert(steps?.includes('team="ui"'), `relabel steps show the added label: ${steps}`);
          assert(steps?.includes("action: drop"), `relabel steps show the rules: ${steps}`);
        }
        await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
        assertEquals(problems, [], `${path}: no console errors`);
      }
      // Pages refresh live: the status line changes without a reload.
      await page.goto(`${base}/targets`, { waitUntil: "load" });
      const first = await page.locator("#status-line").textContent();
      await page.waitForFunction(
        `document.getElementById("status-line").textContent !== ${JSON.stringify(first)}`,
        undefined,
        { timeout: 15_000 },
      );
      assertEquals(problems, []);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent.output().slice(-4000)}`);
    } finally {
      await browser?.close().catch(() => {});
      await agent.stop();
      await servers.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "ui: 10,000 targets: the Targets page shows one page at a time and pages on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const browserPath = findBinary("chromium");
    if (browserPath === null) {
      skipLoudly("tests/ui_test.ts", "chromium is not installed (apt-get install chromium)");
      return;
    }
    await Deno.mkdir(OUT, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix: "ferry-ui-many-" });
    const servers = startServers();
    const webPort = freePort();
    const cfg = `${dir}/agent.config.ts`;
    // 10,000 targets (one server, told apart by their instance label), scraped
    // once an hour: a few are up during the test, the rest not yet scraped.
    await Deno.writeTextFile(
      cfg,
      `export default {
  global: { scrapeInterval: "1h", scrapeTimeout: "10s" },
  scrapeConfigs: [{
    jobName: "many",
    staticConfigs: Array.from({ length: 10000 }, (_, i) => ({
      targets: ["127.0.0.1:${servers.targetPort}"],
      labels: { instance: "t-" + String(i).padStart(5, "0") },
    })),
  }],
};
`,
    );
    const agent = startAgent([
      cfg,
      `--storage.agent.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ]);
    const base = `http://127.0.0.1:${webPort}`;
    let browser: Awaited<ReturnType<typeof launch>> | undefined;
    try {
      await waitFor("10,000 targets", async () => {
        const j = JSON.parse(await getText(`${base}/ui/api/targets?size=1`));
        return j.total === 10_000 ? true : undefined;
      }, 60_000);
      // One page of the API, against the real agent (measured, not asserted).
      let t0 = performance.now();
      const pageJson = await getText(`${base}/ui/api/targets`);
      const apiMs = performance.now() - t0;
      assertEquals(JSON.parse(pageJson).targets.length, 50);
      assert(pageJson.length < 100_000, `one page of JSON is ${pageJson.length} bytes`);

      browser = await launch(browserPath);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));

      const pageInfo = page.locator("#results .page-info").first();
      const rows = page.locator("#targets-table tbody tr.target");
      const firstInstance = () =>
        rows.first().locator(".label", { hasText: "instance=" }).textContent();
      t0 = performance.now();
      await page.goto(`${base}/targets`, { waitUntil: "load" });
      await page.getByText("page 1 of 200").first().waitFor({ timeout: 15_000 });
      const renderMs = performance.now() - t0;
      assertEquals(await rows.count(), 50);
      assertEquals(await firstInstance(), 'instance="t-00000"');
      assert((await page.locator("#results").textContent())?.includes("10000 matching"));

      // Next page, twice: the pager follows though the clicked button keeps the focus.
      for (const n of [2, 3]) {
        await page.locator("#results button[data-page]", { hasText: "next" }).first().click();
        await page.getByText(`page ${n} of 200`).first().waitFor({ timeout: 15_000 });
        assertEquals(await pageInfo.textContent(), `page ${n} of 200`);
        assertEquals(await rows.count(), 50);
        assertEquals(
          await firstInstance(),
          `instance="t-${String((n - 1) * 50).padStart(5, "0")}"`,
        );
        assert(page.url().endsWith(`page=${n}`), page.url());
      }
      // A live refresh keeps the page.
      const line = await page.locator("#status-line").textContent();
      await page.waitForFunction(
        `document.getElementById("status-line").textContent !== ${JSON.stringify(line)}`,
        undefined,
        { timeout: 15_000 },
      );
      assertEquals(await pageInfo.textContent(), "page 3 of 200");
      await page.screenshot({ path: `${OUT}/targets-10000.png`, fullPage: true });

      // The home page: every pool summarised, a bounded number of rows.
      await page.goto(base + "/", { waitUntil: "load" });
      assertEquals(await page.locator("tr.target").count(), 100);
      await page.getByText("all 10000 targets of many").waitFor({ timeout: 5000 });
      await page.screenshot({ path: `${OUT}/home-10000.png`, fullPage: true });
      assertEquals(problems, [], "no console errors");
      // deno-lint-ignore no-console
      console.log(
        `10,000 targets: /ui/api/targets answered in ${apiMs.toFixed(0)} ms ` +
          `(${pageJson.length} bytes); /targets showed its first page ${renderMs.toFixed(0)} ms ` +
          `after navigation started`,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ferry ---\n${agent.output().slice(-4000)}`);
    } finally {
      await browser?.close().catch(() => {});
      await agent.stop();
      await servers.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
