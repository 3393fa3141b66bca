/**
 * Connection-URL helpers that need no database driver, so a module can name a server in a
 * message without loading `pg`.
 */

/** The URL without user info (and so without a password), for messages. Never throws. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://<unparsable url>';
  }
}
