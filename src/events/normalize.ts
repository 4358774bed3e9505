import { z } from 'zod';

/**
 * Every signal dbops receives (Event Grid events in either schema, Azure Monitor common-alert
 * payloads) is normalised into one shape before anything acts on it: what happened, to which
 * resource or secret, when, and a stable id for the inbox. Parsing is tolerant where Azure is
 * known to vary (Key Vault data keys in PascalCase or camelCase, with stray spaces; NBF/EXP as
 * numbers, numeric strings or null) and strict about what it cannot read.
 */
export type SignalKind =
  | 'keyvault.secret-near-expiry'
  | 'keyvault.secret-expired'
  | 'keyvault.secret-new-version'
  | 'resource.action'
  | 'resource.write'
  | 'resource-health.alert'
  | 'health-resources.availability'
  | 'eventgrid.subscription-validation'
  | 'unknown';

export interface SecretRef {
  vault: string | null;
  name: string;
  version: string | null;
  notBefore: string | null;
  expires: string | null;
}

export interface HealthInfo {
  current: string | null;
  previous: string | null;
  cause: string | null;
  type: string | null;
  title: string | null;
  /** Fired or Resolved, for alerts. */
  condition: string | null;
}

export interface NormalizedSignal {
  /** Inbox key: the event id, or the alert id + condition for alerts (Fired and Resolved differ). */
  id: string;
  schema: 'eventgrid' | 'cloudevents' | 'common-alert';
  kind: SignalKind;
  eventType: string;
  subject: string | null;
  /** The ARM resource the signal is about (lower-cased for comparison), when it names one. */
  resourceId: string | null;
  time: string | null;
  secret?: SecretRef;
  operation?: { name: string; status: string | null; principal: string | null };
  health?: HealthInfo;
  validationCode?: string;
  /** Why the payload could not be read fully, when it could not. */
  problem?: string;
}

export class SignalParseError extends Error {
  override name = 'SignalParseError';
}

const record = z.record(z.string(), z.unknown());
type Rec = z.infer<typeof record>;

/** Looks a key up ignoring case and surrounding spaces (Key Vault sends both styles). */
function field(obj: Rec | undefined, ...names: string[]): unknown {
  if (!obj) return undefined;
  const wanted = names.map((n) => n.toLowerCase());
  for (const [k, v] of Object.entries(obj)) if (wanted.includes(k.trim().toLowerCase())) return v;
  return undefined;
}

function str(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function asRecord(v: unknown): Rec | undefined {
  const r = record.safeParse(v);
  return r.success ? r.data : undefined;
}

/** Unix seconds as a number or numeric string, an ISO string, or null. */
export function epochToIso(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v))) {
    const seconds = Number(v);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null;
  }
  if (typeof v === 'string') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  return null;
}

function isoOrNull(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

const lower = (s: string | null) => (s ? s.toLowerCase() : null);

/** The ARM resource id of a flexible server, as dbops compares ids (lower case). */
export function serverResourceId(subscriptionId: string, resourceGroup: string, serverName: string): string {
  return `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/microsoft.dbforpostgresql/flexibleservers/${serverName}`.toLowerCase();
}

function keyVaultSecret(data: Rec | undefined, subject: string | null, topic: string | null): SecretRef {
  const id = str(field(data, 'Id'));
  const name = str(field(data, 'ObjectName')) ?? subject;
  if (!name) throw new SignalParseError('Key Vault event without ObjectName or subject: cannot tell which secret it is about');
  const vaultFromTopic = topic ? (/\/vaults\/([^/]+)/i.exec(topic)?.[1] ?? null) : null;
  const versionFromId = id ? (/\/secrets\/[^/]+\/([^/?]+)/.exec(id)?.[1] ?? null) : null;
  return {
    vault: str(field(data, 'VaultName')) ?? vaultFromTopic,
    name,
    version: str(field(data, 'Version')) ?? versionFromId,
    notBefore: epochToIso(field(data, 'NBF')),
    expires: epochToIso(field(data, 'EXP')),
  };
}

function eventGridKind(eventType: string): SignalKind {
  switch (eventType) {
    case 'Microsoft.KeyVault.SecretNearExpiry':
      return 'keyvault.secret-near-expiry';
    case 'Microsoft.KeyVault.SecretExpired':
      return 'keyvault.secret-expired';
    case 'Microsoft.KeyVault.SecretNewVersionCreated':
      return 'keyvault.secret-new-version';
    case 'Microsoft.Resources.ResourceActionSuccess':
    case 'Microsoft.Resources.ResourceActionFailure':
    case 'Microsoft.Resources.ResourceActionCancel':
      return 'resource.action';
    case 'Microsoft.Resources.ResourceWriteSuccess':
    case 'Microsoft.Resources.ResourceWriteFailure':
    case 'Microsoft.Resources.ResourceWriteCancel':
      return 'resource.write';
    case 'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged':
    case 'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated':
      return 'health-resources.availability';
    case 'Microsoft.EventGrid.SubscriptionValidationEvent':
      return 'eventgrid.subscription-validation';
    default:
      return 'unknown';
  }
}

function fromEvent(ev: Rec, schema: 'eventgrid' | 'cloudevents'): NormalizedSignal {
  const id = str(field(ev, 'id'));
  const eventType = str(field(ev, schema === 'eventgrid' ? 'eventType' : 'type'));
  if (!id || !eventType) throw new SignalParseError(`an ${schema === 'eventgrid' ? 'Event Grid' : 'CloudEvents'} event needs "id" and "${schema === 'eventgrid' ? 'eventType' : 'type'}"`);
  const subject = str(field(ev, 'subject'));
  const topic = str(field(ev, schema === 'eventgrid' ? 'topic' : 'source'));
  const data = asRecord(field(ev, 'data'));
  const kind = eventGridKind(eventType);
  const signal: NormalizedSignal = {
    id,
    schema,
    kind,
    eventType,
    subject,
    resourceId: null,
    time: isoOrNull(field(ev, schema === 'eventgrid' ? 'eventTime' : 'time')),
  };
  if (kind.startsWith('keyvault.')) {
    signal.secret = keyVaultSecret(data, subject, topic);
    signal.resourceId = lower(topic);
  } else if (kind === 'resource.action' || kind === 'resource.write') {
    const auth = asRecord(field(data, 'authorization'));
    const claims = asRecord(field(data, 'claims'));
    signal.resourceId = lower(str(field(data, 'resourceUri')) ?? subject);
    signal.operation = {
      name: str(field(data, 'operationName')) ?? str(field(auth, 'action')) ?? eventType,
      status: str(field(data, 'status')),
      principal: str(field(claims, 'http://schemas.microsoft.com/identity/claims/objectidentifier')) ?? str(field(claims, 'appid')),
    };
  } else if (kind === 'health-resources.availability') {
    const info = asRecord(field(data, 'resourceInfo'));
    const props = asRecord(field(info, 'properties'));
    signal.resourceId = lower(str(field(props, 'targetResourceId')) ?? subject);
    signal.time = isoOrNull(field(props, 'occurredTime')) ?? signal.time;
    signal.health = {
      current: str(field(props, 'availabilityState')) ?? str(field(props, 'annotationName')),
      previous: str(field(props, 'previousAvailabilityState')),
      cause: str(field(props, 'context')) ?? str(field(props, 'reason')),
      type: str(field(props, 'category')),
      title: str(field(props, 'summary')) ?? str(field(props, 'title')),
      condition: null,
    };
  } else if (kind === 'eventgrid.subscription-validation') {
    signal.validationCode = str(field(data, 'validationCode')) ?? undefined;
  } else {
    signal.resourceId = lower(subject);
  }
  return signal;
}

function fromCommonAlert(payload: Rec): NormalizedSignal {
  const data = asRecord(field(payload, 'data'));
  const essentials = asRecord(field(data, 'essentials'));
  const context = asRecord(field(data, 'alertContext'));
  const alertId = str(field(essentials, 'alertId'));
  if (!essentials || !alertId) throw new SignalParseError('a common alert schema payload needs data.essentials.alertId');
  const condition = str(field(essentials, 'monitorCondition'));
  const targets = field(essentials, 'alertTargetIDs');
  const firstTarget = Array.isArray(targets) ? str(targets[0]) : null;
  const props = asRecord(field(context, 'properties'));
  const service = str(field(essentials, 'monitoringService'));
  const eventSource = str(field(context, 'eventSource'));
  const isResourceHealth = service === 'Resource Health' || eventSource === 'ResourceHealth';
  return {
    // Fired and Resolved of one alert are two signals; a redelivery of either is a duplicate.
    id: `${alertId}#${condition ?? 'unknown'}`,
    schema: 'common-alert',
    kind: isResourceHealth ? 'resource-health.alert' : 'unknown',
    eventType: `AzureMonitor/${service ?? 'unknown'}`,
    subject: str(field(essentials, 'alertRule')),
    resourceId: lower(firstTarget),
    time: isoOrNull(field(context, 'eventTimestamp')) ?? isoOrNull(field(essentials, condition === 'Resolved' ? 'resolvedDateTime' : 'firedDateTime')),
    health: {
      current: str(field(props, 'currentHealthStatus')),
      previous: str(field(props, 'previousHealthStatus')),
      cause: str(field(props, 'cause')),
      type: str(field(props, 'type')),
      title: str(field(props, 'title')),
      condition,
    },
  };
}

/**
 * Reads a payload as delivered: one Event Grid event, an array of them (the Event Grid
 * schema posts arrays), a CloudEvents event or batch, or an Azure Monitor common-alert payload.
 * Each element that cannot be read becomes a signal of kind `unknown` with `problem` set, so
 * one bad element never hides the others.
 */
export function normalizeSignals(payload: unknown): NormalizedSignal[] {
  const items = Array.isArray(payload) ? payload : [payload];
  if (items.length === 0) throw new SignalParseError('the payload is an empty array: no event to read');
  return items.map((item, index) => {
    const rec = asRecord(item);
    if (!rec) return unreadable(index, 'not a JSON object');
    try {
      if (str(field(rec, 'schemaId')) === 'azureMonitorCommonAlertSchema') return fromCommonAlert(rec);
      if (str(field(rec, 'specversion'))) return fromEvent(rec, 'cloudevents');
      if (field(rec, 'eventType') !== undefined) return fromEvent(rec, 'eventgrid');
      if (field(rec, 'schemaId') !== undefined) return unreadable(index, `unsupported alert schema "${String(field(rec, 'schemaId'))}": enable the common alert schema on the action group`);
      return unreadable(index, 'neither an Event Grid event, a CloudEvents event nor a common alert schema payload');
    } catch (err) {
      return unreadable(index, (err as Error).message, str(field(rec, 'id')) ?? undefined);
    }
  });
}

function unreadable(index: number, problem: string, id?: string): NormalizedSignal {
  return { id: id ?? `unreadable#${index}`, schema: 'eventgrid', kind: 'unknown', eventType: 'unknown', subject: null, resourceId: null, time: null, problem };
}
