import assert from 'node:assert/strict';
import { loadServerConfig } from '../src/config.js';

describe('serve configuration', () => {
  const load = (vars: Record<string, string>, flags: { port?: number; insecureLocal?: boolean } = {}) =>
    loadServerConfig(vars, { insecureLocal: false, ...flags }, '/tmp');

  it('port: --port, else PORT (App Engine and Cloud Run set it), else 8080', () => {
    assert.equal(load({ GENESIM_TOKEN: 't' }).port, 8080);
    assert.equal(load({ GENESIM_TOKEN: 't', PORT: '9000' }).port, 9000);
    assert.equal(load({ GENESIM_TOKEN: 't', PORT: '9000' }, { port: 7000 }).port, 7000);
    assert.throws(() => load({ GENESIM_TOKEN: 't', PORT: 'http' }), /invalid configuration: PORT="http": must be a port number/);
  });

  it('no token: refused unless --insecure-local; App Engine recognised by GAE_SERVICE', () => {
    assert.throws(() => load({}), /GENESIM_TOKEN is not set/);
    assert.equal(load({}, { insecureLocal: true }).token, undefined);
    assert.equal(load({ GENESIM_TOKEN: 't' }).onAppEngine, false);
    assert.equal(load({ GENESIM_TOKEN: 't', GAE_SERVICE: 'genesim' }).onAppEngine, true);
  });

  it('sources: Cloud Storage by default, a list of hosts otherwise; limits are positive numbers', () => {
    assert.deepEqual(load({ GENESIM_TOKEN: 't' }).urlHosts, ['storage.googleapis.com']);
    assert.deepEqual(load({ GENESIM_TOKEN: 't', GENESIM_URL_HOSTS: 'a.example, B.example' }).urlHosts, ['a.example', 'b.example']);
    assert.equal(load({ GENESIM_TOKEN: 't' }).tmpDir, '/tmp');
    assert.throws(() => load({ GENESIM_TOKEN: 't', GENESIM_MAX_DOWNLOAD_BYTES: '-1' }), /GENESIM_MAX_DOWNLOAD_BYTES="-1": must be a positive number/);
    assert.equal(load({ GENESIM_TOKEN: 't', GENESIM_HEARTBEAT_SECONDS: '2' }).staleSeconds, 60);
  });
});
