import type { NormalizedSignal } from './normalize.js';

export interface RoutingConfig {
  /** ARM ids (any case) of the servers dbops looks after: the primary and its replica. */
  serverResourceIds: string[];
  /** Key Vault secret names whose rotation dbops manages. */
  managedSecrets: string[];
}

export type Route =
  | { action: 'run'; job: 'password-rotation' | 'failover-check'; reason: string }
  | { action: 'ignore'; reason: string };

const isAbout = (resourceId: string | null, ids: string[]) =>
  !!resourceId && ids.some((id) => resourceId === id.toLowerCase() || resourceId.startsWith(`${id.toLowerCase()}/`));

// Control-plane operations on a flexible server that move the primary or change its role.
const failoverOperations = /flexibleservers\/(restart\/action|write|promote|switchover|failover)/i;

/** Decides what a signal starts, or why it is ignored; the same answer the triggers act on. */
export function routeSignal(signal: NormalizedSignal, config: RoutingConfig): Route {
  if (signal.problem) return { action: 'ignore', reason: `unreadable: ${signal.problem}` };
  switch (signal.kind) {
    case 'keyvault.secret-near-expiry':
    case 'keyvault.secret-expired': {
      const name = signal.secret?.name ?? '';
      if (!config.managedSecrets.includes(name)) {
        return { action: 'ignore', reason: `secret "${name}" is not one dbops rotates (managed: ${config.managedSecrets.join(', ') || 'none configured'})` };
      }
      return { action: 'run', job: 'password-rotation', reason: `secret "${name}" ${signal.kind === 'keyvault.secret-expired' ? 'expired' : 'expires soon'}` };
    }
    case 'keyvault.secret-new-version':
      return { action: 'ignore', reason: 'a new secret version is what rotation itself writes; nothing to do' };
    case 'resource.action':
    case 'resource.write': {
      if (!isAbout(signal.resourceId, config.serverResourceIds)) return { action: 'ignore', reason: 'not about a server dbops looks after' };
      const op = signal.operation?.name ?? '';
      if (!failoverOperations.test(op)) return { action: 'ignore', reason: `operation ${op || '(none)'} does not move the primary` };
      return { action: 'run', job: 'failover-check', reason: `${op} ${signal.operation?.status ?? ''}`.trim() };
    }
    case 'resource-health.alert':
    case 'health-resources.availability':
      if (!isAbout(signal.resourceId, config.serverResourceIds)) return { action: 'ignore', reason: 'not about a server dbops looks after' };
      return {
        action: 'run',
        job: 'failover-check',
        reason: `Resource Health: ${signal.health?.previous ?? '?'} → ${signal.health?.current ?? '?'}${signal.health?.condition ? ` (${signal.health.condition})` : ''}`,
      };
    case 'eventgrid.subscription-validation':
      return { action: 'ignore', reason: 'Event Grid subscription validation (answered by the Functions host)' };
    case 'unknown':
      return { action: 'ignore', reason: `event type ${signal.eventType} is not one dbops acts on` };
  }
}
