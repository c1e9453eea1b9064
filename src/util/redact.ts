/**
 * Hiding a URL's password for display (logs, metric labels, the status config).
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
