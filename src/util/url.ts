/**
 * URL helpers shared by the scrape loop, remote write, the status config and
 * `main.ts permissions`.
 *
 * @module
 */

/** The URL with its password replaced by `xxxxx` (as Go's `url.Redacted`); unparsable text unchanged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === "") return url;
    u.password = "xxxxx";
    return u.toString();
  } catch {
    return url;
  }
}

/** `host:port` of a URL, with the scheme's default port (the form of `--allow-net`). */
export function urlHost(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url) : url;
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  return `${u.hostname}:${port}`;
}
