/**
 * Port of remotewrite/sender/labels_test.go (TestLabelValidation).
 *
 * @module
 */

import { check, type JobCase, type JobView, requireSeries, sortedNames } from "../harness.ts";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Every series of the job satisfies `fn`. */
function everySeries(v: JobView, fn: (pairs: [string, string][], key: string) => void): void {
  check(v.series.length > 0, "no series arrived");
  for (const s of v.series) fn(s.pairs, JSON.stringify(s.labels));
}

/** test_metric arrives with exactly these extra labels (besides __name__, job, instance). */
function hasLabels(want: Record<string, string>): (v: JobView) => void {
  return (v) => {
    const s = requireSeries(v, "test_metric");
    for (const [k, val] of Object.entries(want)) {
      check(
        s.labels[k] === val,
        `label ${k}: want ${JSON.stringify(val)}, got ${JSON.stringify(s.labels[k])}`,
      );
    }
    const extra = Object.keys(s.labels).filter((k) =>
      !(k in want) && !["__name__", "job", "instance"].includes(k)
    );
    check(extra.length === 0, `unexpected labels ${extra}`);
  };
}

export const labelCases: JobCase[] = [
  {
    name: "labels_test.go: label_lexicographic_ordering",
    level: "MUST",
    exposition: 'test_metric{aaa="1",bbb="2",zzz="3"} 42\n',
    check: (v) => {
      hasLabels({ aaa: "1", bbb: "2", zzz: "3" })(v);
      everySeries(v, (p, k) => check(sortedNames(p), `labels not sorted: ${k}`));
    },
  },
  {
    name: "labels_test.go: metric_name_label_present",
    level: "MUST",
    exposition: "test_metric 42\n",
    check: (v) => {
      requireSeries(v, "test_metric");
      everySeries(
        v,
        (p, k) => check(p.some(([n, val]) => n === "__name__" && val !== ""), `no __name__: ${k}`),
      );
    },
  },
  {
    name: "labels_test.go: metric_name_format_valid",
    level: "MUST",
    exposition: "valid_metric_name:subsystem_total 42\n",
    check: (v) => {
      requireSeries(v, "valid_metric_name:subsystem_total");
      everySeries(v, (p, k) => {
        const name = p.find(([n]) => n === "__name__")?.[1] ?? "";
        check(METRIC_NAME.test(name), `metric name ${JSON.stringify(name)} is not valid: ${k}`);
      });
    },
  },
  {
    name: "labels_test.go: label_name_format_valid",
    level: "MUST",
    exposition: 'test_metric{valid_label="value",another_1="val2"} 42',
    check: (v) => {
      hasLabels({ valid_label: "value", another_1: "val2" })(v);
      everySeries(v, (p, k) => {
        for (const [n] of p) {
          check(LABEL_NAME.test(n), `label name ${JSON.stringify(n)} is not valid: ${k}`);
        }
      });
    },
  },
  {
    name: "labels_test.go: no_duplicate_label_names",
    level: "MUST",
    exposition: 'test_metric{foo="bar",baz="qux"} 42',
    check: (v) => {
      hasLabels({ foo: "bar", baz: "qux" })(v);
      everySeries(
        v,
        (p, k) => check(new Set(p.map(([n]) => n)).size === p.length, `duplicate names: ${k}`),
      );
    },
  },
  {
    name: "labels_test.go: label_names_not_empty",
    level: "MUST",
    exposition: 'test_metric{label="value"} 42',
    check: (v) => {
      hasLabels({ label: "value" })(v);
      everySeries(v, (p, k) => check(p.every(([n]) => n !== ""), `empty label name: ${k}`));
    },
  },
  {
    name:
      "labels_test.go: label_values_may_be_empty (an empty value means no label, as in Prometheus)",
    level: "MAY",
    exposition: 'test_metric{empty=""} 42',
    check: (v) => {
      hasLabels({})(v);
      everySeries(
        v,
        (p, k) => check(p.every(([, val]) => val !== ""), `empty label value sent: ${k}`),
      );
    },
  },
  {
    name: "labels_test.go: reserved_label_prefix",
    level: "SHOULD",
    exposition: 'test_metric{normal="value"} 42',
    check: (v) => {
      hasLabels({ normal: "value" })(v);
      everySeries(v, (p, k) => {
        for (const [n] of p) {
          check(n === "__name__" || !n.startsWith("__"), `reserved label ${n} sent: ${k}`);
        }
      });
    },
  },
  {
    name: "labels_test.go: unicode_in_label_values",
    level: "MUST",
    exposition: 'test_metric{emoji="🚀",chinese="测试"} 42',
    check: hasLabels({ emoji: "🚀", chinese: "测试" }),
  },
  {
    name: "labels_test.go: special_chars_in_label_values",
    level: "MUST",
    exposition: 'test_metric{path="/api/v1/users",query="foo=bar&baz=qux"} 42',
    check: hasLabels({ path: "/api/v1/users", query: "foo=bar&baz=qux" }),
  },
  {
    name: "labels_test.go: very_long_label_names",
    level: "SHOULD",
    exposition:
      'test_metric{very_long_label_name_that_exceeds_normal_length_but_is_still_valid="value"} 42',
    check: hasLabels({
      very_long_label_name_that_exceeds_normal_length_but_is_still_valid: "value",
    }),
  },
  {
    name: "labels_test.go: very_long_label_values",
    level: "SHOULD",
    exposition:
      'test_metric{description="This is a very long label value that contains a lot of text to test how senders handle long strings in label values which might be common in real-world scenarios"} 42',
    check: hasLabels({
      description:
        "This is a very long label value that contains a lot of text to test how senders handle long strings in label values which might be common in real-world scenarios",
    }),
  },
  {
    name: "labels_test.go: many_labels_per_series",
    level: "SHOULD",
    exposition:
      'test_metric{l1="v1",l2="v2",l3="v3",l4="v4",l5="v5",l6="v6",l7="v7",l8="v8",l9="v9",l10="v10"} 42',
    check: hasLabels(
      Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`l${i + 1}`, `v${i + 1}`])),
    ),
  },
];
