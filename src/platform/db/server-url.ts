/** The server and database a postgres:// URL names; undefined when it does not parse. */
export interface ServerUrl {
  /** As the URL writes it (an IPv6 address keeps its brackets). */
  hostname: string;
  port: number | null;
  /** host[:port], safe to show. */
  address: string;
  /** The URL's path, e.g. "/product_change_db". */
  path: string;
  /** The database name, decoded; "" when the URL names none. */
  database: string;
}

export function parseServerUrl(url: string): ServerUrl | undefined {
  try {
    const u = new URL(url);
    return {
      hostname: u.hostname,
      port: u.port ? Number(u.port) : null,
      address: `${u.hostname}${u.port ? `:${u.port}` : ''}`,
      path: u.pathname,
      database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    };
  } catch {
    return undefined;
  }
}
