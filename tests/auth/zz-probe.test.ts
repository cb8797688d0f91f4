import { afterAll, expect, test } from '@jest/globals';
import { startRegistry, stopAllRegistries } from '../helpers/registry.js';
import { startTokenService } from '../helpers/token-service.js';
afterAll(stopAllRegistries);
test('timing', async () => {
  let t = Date.now();
  const ts = await startTokenService({});
  console.log('ts', Date.now() - t); t = Date.now();
  const reg = await startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
  console.log('reg', Date.now() - t); t = Date.now();
  const reg2 = await startRegistry({ tls: true, htpasswd: { user: 'a', password: 'b' } });
  console.log('reg2', Date.now() - t);
  await ts.stop();
  expect(reg.url).toBeTruthy(); expect(reg2.url).toBeTruthy();
});
