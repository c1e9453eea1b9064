// A config module with a named `config` export instead of a default export.
import type { AgentConfig } from "../../../mod.ts";

export const config: AgentConfig = {
  scrapeConfigs: [{ jobName: "named", staticConfigs: [{ targets: ["127.0.0.1:9100"] }] }],
};
