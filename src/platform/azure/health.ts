import type { ServiceClient } from '@azure/core-client';
import { azureError, callAzure } from './errors.js';

export const RESOURCE_HEALTH_API_VERSION = '2025-04-01';

/** Resource Health's current availability of a resource (the fields dbops reads). */
export interface AvailabilityStatus {
  availabilityState: 'Available' | 'Unavailable' | 'Degraded' | 'Unknown' | (string & {});
  summary?: string;
  detailedStatus?: string;
  reasonType?: string;
  occuredTime?: string;
  reportedTime?: string;
  raw: Record<string, unknown>;
}

export interface ResourceHealth {
  availability(resourceId: string): Promise<AvailabilityStatus>;
}

/** No SDK is installed for Resource Health: one GET through an ARM client's pipeline (auth, retries). */
export function createResourceHealth(loadClient: () => Promise<ServiceClient>, armEndpoint: string): ResourceHealth {
  return {
    availability: (resourceId) =>
      callAzure('read availability status', resourceId.split('/').pop() ?? resourceId, async () => {
        const [client, { createPipelineRequest }] = await Promise.all([loadClient(), import('@azure/core-rest-pipeline')]);
        const url = `${armEndpoint.replace(/\/$/, '')}${resourceId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current?api-version=${RESOURCE_HEALTH_API_VERSION}`;
        const response = await client.sendRequest(createPipelineRequest({ url, method: 'GET' }));
        const body = JSON.parse(response.bodyAsText || '{}') as { properties?: Record<string, unknown>; error?: { code?: string; message?: string } };
        if (response.status >= 400) throw azureError({ statusCode: response.status, code: body.error?.code, message: body.error?.message ?? `HTTP ${response.status}` }, 'read availability status', resourceId);
        const p = body.properties ?? {};
        const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
        return {
          availabilityState: str('availabilityState') ?? 'Unknown',
          summary: str('summary'),
          detailedStatus: str('detailedStatus'),
          reasonType: str('reasonType'),
          occuredTime: str('occuredTime'),
          reportedTime: str('reportedTime'),
          raw: body as Record<string, unknown>,
        };
      }),
  };
}
