/**
 * kubernetes_sd self-metrics under Prometheus' names:
 * `prometheus_sd_kubernetes_events_total{role,event}` (event: add, update,
 * delete) and `prometheus_sd_kubernetes_failures_total` (failed LIST or
 * WATCH requests).
 *
 * @module
 */

import type { Counter, Registry } from "../../metrics/registry.ts";

/** The kubernetes_sd metrics. */
export interface KubernetesSdMetrics {
  failures: Counter;
  events(role: string, event: "add" | "update" | "delete"): Counter;
}

/** Creates (or returns the existing) kubernetes_sd metrics. */
export function createKubernetesSdMetrics(registry: Registry): KubernetesSdMetrics {
  return {
    failures: registry.counter({
      name: "prometheus_sd_kubernetes_failures_total",
      help: "Failed requests to the Kubernetes API (list or watch).",
    }),
    events: (role, event) =>
      registry.counter({
        name: "prometheus_sd_kubernetes_events_total",
        help: "Kubernetes watch events received, by role and event.",
        labels: { role, event },
      }),
  };
}
