import { managedSecretNames } from '../shared/rotation/managed-roles.js';
import type { Env } from '../platform/settings.js';
import { serverResourceId } from './normalize.js';
import type { RoutingConfig } from './route.js';

/**
 * The routing configuration from settings: the servers named by DBOPS_AZURE_SUBSCRIPTION_ID,
 * DBOPS_AZURE_RESOURCE_GROUP, DBOPS_AZURE_SERVER_NAME and DBOPS_AZURE_REPLICA_NAME (declared by
 * the Azure settings group), and the secrets password-rotation manages (the secret half of each
 * role=secret pair in DBOPS_ROTATION_ROLES, shared/rotation/managed-roles.ts). Unset server
 * settings simply match nothing.
 */
export function routingConfigFromEnv(env: Env): RoutingConfig {
  const sub = env.DBOPS_AZURE_SUBSCRIPTION_ID?.trim();
  const rg = env.DBOPS_AZURE_RESOURCE_GROUP?.trim();
  const servers = [env.DBOPS_AZURE_SERVER_NAME, env.DBOPS_AZURE_REPLICA_NAME].map((s) => s?.trim()).filter((s): s is string => !!s);
  return {
    serverResourceIds: sub && rg ? servers.map((s) => serverResourceId(sub, rg, s)) : [],
    managedSecrets: managedSecretNames(env),
  };
}
