import type { JobServices } from './job.js';

export interface LogWindow {
  start: Date;
  end: Date;
}

/**
 * One server log line, as every source hands it over. The job classifies it (connection,
 * failed login, privilege statement) itself from `message` and `sqlstate`, so a csvlog file and
 * Log Analytics are judged by the same rules.
 */
export interface ServerLogEntry {
  time: Date;
  user: string | null;
  database: string | null;
  /** Client host or address without the port; null for local (socket) and background lines. */
  clientAddress: string | null;
  application: string | null;
  /** LOG, FATAL, ERROR, … */
  severity: string;
  sqlstate: string | null;
  message: string;
}

/** Where the server log comes from: csvlog files here, Log Analytics in Azure. */
export interface ServerLogSource {
  /** Stable name of the source; the read position is kept per source. */
  readonly id: string;
  /** Every entry with start <= time < end, in any order. */
  entries(window: LogWindow, signal?: AbortSignal): AsyncIterable<ServerLogEntry>;
}

export interface ManagedSecret {
  /** Secret name in Key Vault. */
  name: string;
  /** The database role whose password it holds. */
  role: string;
  createdOn: Date | null;
  expiresOn: Date | null;
  enabled: boolean;
}

/** The database passwords Key Vault holds (password-rotation writes them). */
export interface ManagedSecretInventory {
  list(): Promise<ManagedSecret[]>;
}

/** Names under which providers put the services in `ctx.services`. */
export const SERVICE_NAMES = {
  serverLog: 'securityServerLogSource',
  secretInventory: 'managedSecretInventory',
} as const;

declare module './job.js' {
  interface JobServices {
    /** The server log the security audit reads (tests inject one; otherwise csvlog or Log Analytics). */
    securityServerLogSource?: ServerLogSource;
    /** The database passwords Key Vault holds (provided by password-rotation's inventory). */
    managedSecretInventory?: ManagedSecretInventory;
  }
}

export interface SecurityServices {
  serverLog?: ServerLogSource;
  secretInventory?: ManagedSecretInventory;
}

/** The security-audit services present in `services`; a wrongly shaped one is an error, not absent. */
export function securityServices(services: JobServices): SecurityServices {
  const out: SecurityServices = {};
  const log = services.securityServerLogSource;
  if (log !== undefined) {
    if (typeof log.id !== 'string' || typeof log.entries !== 'function') throw new TypeError(`services.${SERVICE_NAMES.serverLog} is not a ServerLogSource (needs id and entries(window))`);
    out.serverLog = log;
  }
  const secrets = services.managedSecretInventory;
  if (secrets !== undefined) {
    if (typeof secrets.list !== 'function') throw new TypeError(`services.${SERVICE_NAMES.secretInventory} is not a ManagedSecretInventory (needs list())`);
    out.secretInventory = secrets;
  }
  return out;
}
