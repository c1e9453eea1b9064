/**
 * Port of the older RW 1.0 sender cases (github.com/prometheus/compliance,
 * remote_write_sender/cases, removed upstream in 2024): counter, gauge,
 * histogram, summary, up, invalid, job/instance labels, sorted, repeated,
 * empty and name labels, honor_labels, staleness, timestamps, headers,
 * ordering and the two retry cases. The upstream targets were
 * client_golang registries; here the same expositions are served as text.
 *
 * @module
 */

import {
  type Captured,
  check,
  CT_V1,
  type EndpointCase,
  type EndpointView,
  type JobCase,
  type JobView,
  type Responder,
  rw1Remote,
} from "../harness.ts";

/** A gauge `now` whose value is the wall clock (ms) at scrape time. */
const nowGauge = () => `# HELP now now\n# TYPE now gauge\nnow ${Date.now()}\n`;

/** Checks every `now` sample: its value is close to its timestamp (the upstream InEpsilon). */
function nowMatchesTimestamp(v: JobView): void {
  const ps = v.samples("now").filter((p) => !p.stale);
  check(ps.length > 0, 'found zero samples for {__name__="now"}');
  for (const p of ps) check(Math.abs(p.v - p.t) < 5000, `now=${p.v} at t=${p.t}`);
}

/** For all but the last timestamp, every one of `series` has a sample (a family is sent whole). */
function sameTimestamps(v: JobView, series: [string, Record<string, string>][]): void {
  const sets = series.map(([n, m]) => new Set(v.samples(n, m).map((p) => p.t)));
  const all = [...new Set(sets.flatMap((s) => [...s]))].sort((a, b) => a - b);
  check(all.length >= 2, `want ≥ 2 scrapes, got ${all.length}`);
  for (const t of all.slice(0, -1)) {
    series.forEach(([n, m], i) =>
      check(sets[i].has(t), `${n}${JSON.stringify(m)} has no sample at ${t}`)
    );
  }
}

/** Every sample's value equals `want`. */
function allEqual(v: JobView, name: string, match: Record<string, string>, want: number): void {
  const ps = v.samples(name, match);
  check(ps.length > 0, `no ${name}${JSON.stringify(match)}`);
  for (const p of ps) check(p.v === want, `${name}${JSON.stringify(match)} = ${p.v}, want ${want}`);
}

/** Every sample of the job has labels satisfying `fn`. */
function everySeries(v: JobView, fn: (pairs: [string, string][], key: string) => void): void {
  check(v.series.length > 0, "no series");
  for (const s of v.series) fn(s.pairs, JSON.stringify(s.labels));
}

export const rw1LegacyCases: JobCase[] = [
  {
    name: "remote_write_sender cases/counter.go: Counter",
    level: "MUST",
    exposition: (n) => `# HELP counter counter\n# TYPE counter counter\ncounter ${n}\n`,
    ready: (v) => v.samples("counter").length >= 3,
    check: (v) => {
      const ps = v.samples("counter").sort((a, b) => a.t - b.t);
      check(ps.length >= 3, `want ≥ 3 samples, got ${ps.length}`);
      ps.forEach((p, i) =>
        check(p.v === i, `sample ${i} is ${p.v}: every scrape's value, in order`)
      );
    },
  },
  {
    name: "remote_write_sender cases/gauge.go: Gauge",
    level: "MUST",
    exposition: nowGauge,
    check: nowMatchesTimestamp,
  },
  {
    name:
      'remote_write_sender cases/histogram.go: Histogram (le="1" arrives as "1.0", as Prometheus 3 normalises it)',
    level: "MUST",
    exposition: `# HELP histogram histogram
# TYPE histogram histogram
histogram_bucket{le="1"} 1
histogram_bucket{le="2"} 2
histogram_bucket{le="+Inf"} 2
histogram_sum 3
histogram_count 2
`,
    check: (v) => {
      allEqual(v, "histogram_bucket", { le: "1.0" }, 1);
      allEqual(v, "histogram_bucket", { le: "2.0" }, 2);
      allEqual(v, "histogram_bucket", { le: "+Inf" }, 2);
      allEqual(v, "histogram_sum", {}, 3);
      allEqual(v, "histogram_count", {}, 2);
      sameTimestamps(v, [
        ["histogram_bucket", { le: "1.0" }],
        ["histogram_bucket", { le: "2.0" }],
        ["histogram_bucket", { le: "+Inf" }],
        ["histogram_sum", {}],
        ["histogram_count", {}],
      ]);
    },
  },
  {
    name: "remote_write_sender cases/summary.go: Summary",
    level: "MUST",
    exposition: `# HELP summary summary
# TYPE summary summary
summary{quantile="0.5"} 2
summary{quantile="0.9"} 3
summary{quantile="0.99"} 3
summary_sum 6
summary_count 3
`,
    check: (v) => {
      allEqual(v, "summary", { quantile: "0.5" }, 2);
      allEqual(v, "summary", { quantile: "0.9" }, 3);
      allEqual(v, "summary", { quantile: "0.99" }, 3);
      allEqual(v, "summary_sum", {}, 6);
      allEqual(v, "summary_count", {}, 3);
      sameTimestamps(v, [
        ["summary", { quantile: "0.5" }],
        ["summary", { quantile: "0.9" }],
        ["summary", { quantile: "0.99" }],
        ["summary_sum", {}],
        ["summary_count", {}],
      ]);
    },
  },
  {
    name: "remote_write_sender cases/up.go: Up",
    level: "MUST",
    exposition: "# HELP gauge gauge\n# TYPE gauge gauge\ngauge 42\n",
    check: (v) => allEqual(v, "up", { job: v.job }, 1),
  },
  {
    name: "remote_write_sender cases/up.go: Invalid (a failed scrape sends up 0)",
    level: "MUST",
    exposition: "\n# this is not valid prometheus\n1234notvali}{ 444\n",
    check: (v) => allEqual(v, "up", { job: v.job }, 0),
  },
  {
    name: "remote_write_sender cases/job_label.go: JobLabel",
    level: "MUST",
    exposition: "# HELP gauge gauge\n# TYPE gauge gauge\ngauge 42\n",
    check: (v) => allEqual(v, "gauge", { job: v.job }, 42),
  },
  {
    name: "remote_write_sender cases/instance_label.go: InstanceLabel",
    level: "MUST",
    exposition: "# HELP gauge gauge\n# TYPE gauge gauge\ngauge 42\n",
    check: (v) => {
      allEqual(v, "gauge", {}, 42);
      everySeries(v, (p, k) => {
        const inst = p.find(([n]) => n === "instance")?.[1] ?? "";
        check(/^127\.0\.0\.1:\d+$/.test(inst), `instance ${JSON.stringify(inst)}: ${k}`);
      });
    },
  },
  {
    name: "remote_write_sender cases/labels.go: SortedLabels",
    level: "MUST",
    exposition: '\n# HELP test A gauge\n# TYPE test gauge\ntest{b="2",a="1"} 1.0\n',
    check: (v) => {
      everySeries(v, (p, k) => {
        for (let i = 1; i < p.length; i++) check(p[i - 1][0] < p[i][0], `not sorted: ${k}`);
      });
      allEqual(v, "test", { a: "1", b: "2" }, 1);
    },
  },
  {
    name:
      "remote_write_sender cases/labels.go: RepeatedLabels (the scrape fails; nothing sent for it)",
    level: "MUST",
    exposition: '\n# HELP test A gauge\n# TYPE test gauge\ntest{a="1",a="1"} 1.0\n',
    check: (v) => {
      everySeries(
        v,
        (p, k) => check(new Set(p.map(([n]) => n)).size === p.length, `repeated label: ${k}`),
      );
      check(
        v.samples("test", { a: "1" }).length === 0,
        'found samples for test{a="1"}, none expected',
      );
      allEqual(v, "up", {}, 0);
    },
  },
  {
    name: "remote_write_sender cases/labels.go: EmptyLabels",
    level: "MUST",
    exposition: '\n# HELP test A gauge\n# TYPE test gauge\ntest{a=""} 1.0\n',
    check: (v) => {
      everySeries(v, (p, k) => check(p.every(([, val]) => val !== ""), `empty label value: ${k}`));
      allEqual(v, "test", {}, 1);
    },
  },
  {
    name: "remote_write_sender cases/labels.go: NameLabel",
    level: "MUST",
    exposition: '\n# HELP test A gauge\n# TYPE test gauge\n{label="value"} 1.0\n',
    check: (v) => {
      everySeries(v, (p, k) => check(p.some(([n]) => n === "__name__"), `no __name__: ${k}`));
      const bad = v.series.filter((s) => s.labels.label === "value");
      check(bad.length === 0, `found samples for {label="value"}`);
    },
  },
  {
    name:
      "remote_write_sender cases/labels.go: HonorLabels (honor_labels false: exported_job, exported_instance)",
    level: "MUST",
    exposition:
      '\n# HELP test A gauge\n# TYPE test gauge\ntest{job="original", instance="foo"} 1.0\n',
    check: (v) => allEqual(v, "test", { exported_job: "original", exported_instance: "foo" }, 1),
  },
  {
    name: "remote_write_sender cases/staleness.go: Staleness",
    level: "MUST",
    exposition: (n) => n === 0 ? "# HELP stale stale\n# TYPE stale gauge\nstale 0\n" : "",
    ready: (v) => v.samples("stale").some((p) => p.stale) || v.scrapes >= 4,
    check: (v) => {
      const ps = v.samples("stale");
      check(ps.some((p) => p.stale), `found no staleness markers for stale{job="${v.job}"}`);
    },
  },
  {
    name: "remote_write_sender cases/timestamps.go: Timestamp",
    level: "MUST",
    exposition: "# HELP gauge gauge\n# TYPE gauge gauge\ngauge 42\n",
    check: (v) => {
      const start = performance.timeOrigin;
      const end = Date.now();
      const last = new Map<string, number>();
      for (const s of v.series) {
        const key = JSON.stringify(s.pairs);
        for (const p of s.samples) {
          check(p.t > start && p.t < end, `timestamp ${p.t} outside the test [${start}, ${end}]`);
          check(p.t > (last.get(key) ?? 0), `${key}: ${p.t} not after ${last.get(key)}`);
          last.set(key, p.t);
        }
      }
      allEqual(v, "gauge", {}, 42);
    },
  },
  {
    name: "remote_write_sender cases/headers.go: Headers",
    level: "MUST",
    exposition: nowGauge,
    check: (v) => {
      for (const r of v.requests) {
        check(r.headers.get("content-encoding") === "snappy", "Content-Encoding");
        check(
          r.headers.get("content-type") === CT_V1,
          `Content-Type ${r.headers.get("content-type")}`,
        );
        check(
          r.headers.get("x-prometheus-remote-write-version") === "0.1.0",
          "X-Prometheus-Remote-Write-Version",
        );
      }
      nowMatchesTimestamp(v);
    },
  },
  {
    name: "remote_write cases/basic.go: Basic",
    level: "MUST",
    exposition: nowGauge,
    check: nowMatchesTimestamp,
  },
];

/** The `now` sample timestamps of a request. */
function nowTimestamps(r: Captured): number[] {
  return r.series.filter((s) => s.labels.__name__ === "now").flatMap((s) =>
    s.samples.map((p) => p.t)
  );
}

/** The first request is answered `status`, later ones 204. */
function firstThen(status: number): Responder {
  return (r) =>
    r.n === 0
      ? { status, body: status === 500 ? "internal server error" : "bad request" }
      : { status: 204 };
}

/** Later requests carry the `now` samples of the first (rejected) one. */
function firstResent(v: EndpointView): boolean {
  const first = v.requests[0];
  if (!first) return false;
  const ts = nowTimestamps(first);
  return ts.length > 0 &&
    v.requests.slice(1).some((r) => nowTimestamps(r).some((t) => ts.includes(t)));
}

export const rw1LegacyEndpointCases: EndpointCase[] = [
  {
    name:
      "remote_write_sender cases/ordering.go: Ordering (1000 series, receiver delays up to 300 ms)",
    level: "MUST",
    exposition: "# HELP test test\n# TYPE test gauge\n" +
      Array.from({ length: 1000 }, (_, i) => `test{i="${i}"} 1\n`).join(""),
    remote: (url) => rw1Remote(url, { queue_config: { max_samples_per_send: 500, max_shards: 4 } }),
    responder: () => ({ status: 204, delayMs: Math.floor(Math.random() * 300) }),
    ready: (v) => v.requests.length >= 8,
    check: (v) => {
      const last = new Map<string, number>();
      let n = 0;
      for (const r of v.requests) {
        for (const s of r.series) {
          const key = JSON.stringify(s.pairs);
          for (const p of s.samples) {
            check(p.t > (last.get(key) ?? 0), `${key}: ${p.t} not after ${last.get(key)}`);
            last.set(key, p.t);
            if (s.labels.__name__ === "test") {
              check(p.v === 1, "test value");
              n++;
            }
          }
        }
      }
      check(n > 0, "found zero samples for test");
    },
  },
  {
    name: "remote_write_sender cases/retries.go: Retries500 (the rejected sample is sent again)",
    level: "MUST",
    exposition: nowGauge,
    remote: (url) => rw1Remote(url),
    responder: firstThen(500),
    ready: firstResent,
    check: (v) => {
      check(
        nowTimestamps(v.requests[0] ?? ({ series: [] } as unknown as Captured)).length > 0,
        "no first request",
      );
      check(firstResent(v), "failed to find the sample that should have been retried");
    },
  },
  {
    name:
      "remote_write_sender cases/retries.go: Retries400 (the rejected sample is not sent again)",
    level: "MUST",
    exposition: nowGauge,
    remote: (url) => rw1Remote(url),
    responder: firstThen(400),
    ready: (v) => v.requests.length >= 3,
    check: (v) => {
      check(v.requests.length >= 2, "want requests after the rejected one");
      check(nowTimestamps(v.requests[0]).length > 0, "the first request has no now sample");
      check(!firstResent(v), "found the sample that should not have been retried");
    },
  },
];
