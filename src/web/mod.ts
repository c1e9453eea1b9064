/**
 * The agent's web server: status shapes the agent implements, the request
 * handler, the home page and the socket.
 *
 * @module
 */

export {
  AGENT_UNAVAILABLE,
  createHandler,
  type HandlerDeps,
  type Lifecycle,
  METRICS_CONTENT_TYPE,
} from "./api.ts";
export {
  parseListenAddress,
  startWebServer,
  type WebServer,
  type WebServerOptions,
} from "./server.ts";
export type {
  AgentStatusProvider,
  BuildStatus,
  DroppedTargetStatus,
  EndpointStatus,
  RuntimeStatus,
  TargetStatus,
} from "./status.ts";
export { renderHome } from "./ui/home.ts";
