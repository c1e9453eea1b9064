/**
 * nginx configurations for the farm (one server per target on its own 127.0.x.y address, serving
 * a static `metrics.txt` as `/metrics`) and for the sink (answers every request with 204 and logs
 * the Content-Length of each request, so the compressed bytes received are known).
 *
 * @module
 */

import { type Proc, sleep, start, tail } from "./proc.ts";

/** `host:port` of target `i` (0-based): 127.0.77.1, 127.0.77.2, … then 127.0.78.x past 250. */
export function targetAddress(i: number, port: number): string {
  return `127.0.${77 + Math.floor(i / 250)}.${1 + (i % 250)}:${port}`;
}

function common(dir: string, name: string): string {
  const user = Deno.uid() === 0 ? "user root root;\n" : "";
  return `${user}worker_processes 1;
daemon off;
master_process on;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}.error.log warn;
events { worker_connections 4096; }
`;
}

function temps(dir: string, name: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${dir}/${name}-${t}-temp;`)
    .join("\n");
}

/** nginx.conf for `targets` servers, the files under `farmDir/t<i>/metrics.txt`. */
export function farmConfig(dir: string, opts: { farmDir: string; targets: number; port: number }) {
  const servers: string[] = [];
  for (let i = 0; i < opts.targets; i++) {
    servers.push(`  server {
    listen ${targetAddress(i, opts.port)};
    location = /metrics { alias ${opts.farmDir}/t${i}/metrics.txt; }
  }`);
  }
  return `${common(dir, "farm")}http {
  access_log off;
${temps(dir, "farm")}
  types { }
  default_type "text/plain; version=0.0.4; charset=utf-8";
  sendfile on;
  etag off;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
${servers.join("\n")}
}
`;
}

/** nginx.conf of the remote-write sink at `address` (`host:port`); logs the `Content-Length` of each request. */
export function sinkConfig(dir: string, opts: { address: string; accessLog: string }) {
  return `${common(dir, "sink")}http {
  log_format rw '$content_length $status';
  access_log ${opts.accessLog} rw buffer=64k flush=1s;
${temps(dir, "sink")}
  client_max_body_size 512m;
  client_body_buffer_size 1m;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  server {
    listen ${opts.address};
    location / { return 204; }
  }
}
`;
}

/** Starts nginx on `conf` and waits until `probe` (`host:port`) accepts connections. */
export async function startNginx(
  name: string,
  opts: { dir: string; conf: string; probe: string },
): Promise<Proc> {
  const path = `${opts.dir}/${name}.conf`;
  await Deno.writeTextFile(path, opts.conf);
  const p = await start(name, ["nginx", "-p", opts.dir, "-c", path], {
    log: `${opts.dir}/${name}.log`,
  });
  const [hostname, port] = opts.probe.split(":");
  for (let i = 0; i < 100; i++) {
    if (p.done()) break;
    try {
      const c = await Deno.connect({ hostname, port: Number(port) });
      c.close();
      return p;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(
    `${name}: nginx did not start listening on ${opts.probe}\n${await tail(p.log)}\n${await tail(
      `${opts.dir}/${name}.error.log`,
    )}`,
  );
}

/** Sums the sink's access log: requests, request bytes, and non-204 answers. */
export async function sinkLog(path: string): Promise<{ requests: number; bytes: number }> {
  let requests = 0, bytes = 0;
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return { requests, bytes };
  }
  for (const line of text.split("\n")) {
    const [len, status] = line.split(" ");
    if (!len || status !== "204") continue;
    requests++;
    bytes += Number(len);
  }
  return { requests, bytes };
}
