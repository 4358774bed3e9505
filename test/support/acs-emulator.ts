/**
 * Azure Communication Services (e-mail, SMS) for the alert tests: the shared Azure emulator with
 * its Communication Services routes (azure-emulator/communication.ts), an access key of its own
 * and an agent that trusts the emulator's certificate (the ACS clients take it through a
 * pipeline policy, so nothing depends on NODE_EXTRA_CA_CERTS).
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { startAzureEmulator } from '../../src/local-azure/index.js';
import { communicationRoutes, type AcsState } from '../../src/local-azure/communication.js';

export type { AcsApi, AcsFault as Fault, AcsState, SentEmail, SentSms } from '../../src/local-azure/communication.js';

export interface AcsEmulator {
  endpoint: string;
  accessKey: string;
  /** Trusts the emulator's self-signed certificate; pass it to the SDK clients. */
  agent: Agent;
  state: AcsState;
  close(): Promise<void>;
}

export async function startAcsEmulator(): Promise<AcsEmulator> {
  const accessKey = randomBytes(32).toString('base64');
  let origin = '';
  const { state, routes } = communicationRoutes({ accessKey, origin: () => origin });
  const emu = await startAzureEmulator({ routes });
  origin = emu.endpoint;
  const agent = new Agent({ ca: emu.ca, keepAlive: false });
  return {
    endpoint: emu.endpoint,
    accessKey,
    agent,
    state,
    async close() {
      agent.destroy();
      await emu.close();
    },
  };
}
