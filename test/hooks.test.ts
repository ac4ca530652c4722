import { stopTestServer } from './helpers.js';

// Root hook: the embedded server (when the tests use one) is stopped once, after every suite.
after(async () => {
  await stopTestServer();
});
