import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAcsEmulator, type AcsEmulator } from '../support/acs-emulator.js';

function post(acs: AcsEmulator, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${acs.endpoint}${path}`, { method: 'POST', agent: acs.agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Communication Services in the Azure emulator', () => {
  let acs: AcsEmulator;
  beforeAll(async () => {
    acs = await startAcsEmulator();
  });
  afterAll(() => acs.close());

  it('refuses a request without a valid HMAC signature, as the service does, and records nothing', async () => {
    const body = JSON.stringify({ from: '+18005550100', message: 'x', smsRecipients: [{ to: '+821012345678' }] });
    const unsigned = await post(acs, '/sms?api-version=2021-03-07', body, {});
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatch(/no HMAC-SHA256 Authorization header/);
    const forged = await post(acs, '/sms?api-version=2021-03-07', body, {
      authorization: 'HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA',
      'x-ms-date': new Date().toUTCString(),
      'x-ms-content-sha256': 'not-the-hash',
    });
    expect(forged.status).toBe(401);
    expect(acs.state.sms).toEqual([]);
  });
});
