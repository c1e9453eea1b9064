/** ferry's version, as reported in `User-Agent`, `prometheus_build_info` and `version`. */
export const VERSION = "0.1.0";
