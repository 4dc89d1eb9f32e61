// The TypeScript client against the local stack (devstack's gateway over moto, the
// loopback OAuth provider). tests/integration/test_typescript_client.py starts them and
// runs this file with node --test, passing in the environment:
//   KEYFOB_URL, KEYFOB_API_KEY         the gateway and a tenant's key
//   KEYFOB_TEST_PROVIDER_API           the provider's resource API (answers registered keys)
//   KEYFOB_TEST_UPSTREAM_KEY           a key registered there
//   KEYFOB_TEST_OAUTH_INTEGRATION      an OAuth integration with the provider
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import {
  ApiError,
  AuthError,
  ConfigurationError,
  ConflictError,
  ConnectionFailedError,
  KeyfobClient,
  NotFoundError,
  ValidationError,
  WaitTimeoutError,
} from "../dist/index.js";

const env = process.env;
const client = new KeyfobClient(); // KEYFOB_URL and KEYFOB_API_KEY
const entity = `ts-${randomUUID().slice(0, 8)}`;

async function keyedIntegration() {
  return client.createIntegration("mistral", "API_KEY", {
    name: "TypeScript client test",
    api: { base_url: env.KEYFOB_TEST_PROVIDER_API },
  });
}

test("the catalog's apps and params come back", async () => {
  const apps = await client.listApps("API_KEY");
  assert.ok(apps.some((app) => app.slug === "stripe"));
  const params = await client.getAppParams("stripe", "API_KEY");
  assert.deepEqual(
    params.connection_fields.map((f) => f.name),
    ["api_key"],
  );
  await assert.rejects(client.getApp("no-such-app"), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "app_not_found");
    return true;
  });
});

test("an API key connection: initiate, list with pagination, credentials, proxy, disable, enable, delete", async () => {
  const integration = await keyedIntegration();
  const key = env.KEYFOB_TEST_UPSTREAM_KEY;
  // A key the provider does not know is refused, with the API's code
  await assert.rejects(
    client.initiateConnection(integration.id, entity, { params: { api_key: "made-up" } }),
    (error) => error instanceof ValidationError && error.code === "credentials_rejected",
  );
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const made = await client.initiateConnection(integration.id, entity, { params: { api_key: key }, labels: { n: `${i}` } });
    assert.equal(made.status, "ACTIVE");
    ids.push(made.id);
  }
  // Pagination: pages of one, followed to the end, newest first
  const first = await client.listAccountsPage({ entityId: entity, limit: 1 });
  assert.equal(first.items.length, 1);
  assert.ok(first.next_cursor);
  const all = [];
  for await (const account of client.listAccounts({ entityId: entity, pageSize: 1 })) all.push(account.id);
  assert.deepEqual(all, [...ids].reverse());
  const filtered = [];
  for await (const account of client.listAccounts({ entityId: entity, status: "INACTIVE" })) filtered.push(account);
  assert.deepEqual(filtered, []);

  const [id] = ids;
  assert.equal((await client.waitForConnection(id, { timeoutMs: 5000 })).status, "ACTIVE");
  const credentials = await client.getCredentials(id);
  assert.equal(credentials.credentials.api_key, key);
  const proxied = await client.proxy(id, "get", "/v1/models");
  assert.equal(proxied.status, 200);

  assert.equal((await client.disableAccount(id)).status, "INACTIVE");
  await assert.rejects(client.getCredentials(id), (error) => error instanceof ConflictError && error.code === "account_disabled");
  await assert.rejects(client.waitForConnection(id, { timeoutMs: 5000 }), (error) => {
    assert.ok(error instanceof ConnectionFailedError);
    assert.equal(error.account.status, "INACTIVE");
    return true;
  });
  const events = await client.getAccountEvents(id);
  assert.deepEqual(
    events.items.map((event) => event.type),
    ["Keyfob.ConnectionDisabled", "Keyfob.ConnectionActivated"],
  );
  assert.equal((await client.enableAccount(id)).status, "ACTIVE");

  for (const each of ids) assert.equal((await client.deleteAccount(each)).id, each);
  await assert.rejects(client.getAccount(id), (error) => error instanceof NotFoundError && error.code === "connected_account_not_found");
  await client.deleteIntegration(integration.id);
});

test("integrations are listed page by page", async () => {
  const made = [await keyedIntegration(), await keyedIntegration()];
  const seen = [];
  for await (const integration of client.listIntegrations({ pageSize: 1 })) seen.push(integration.id);
  for (const integration of made) assert.ok(seen.includes(integration.id));
  assert.equal((await client.getIntegration(made[0].id)).app, "mistral");
  for (const integration of made) await client.deleteIntegration(integration.id);
});

test("an OAuth connection the user never completes: waitForConnection times out with the account", async () => {
  const initiated = await client.initiateConnection(env.KEYFOB_TEST_OAUTH_INTEGRATION, entity, {
    redirectUrl: "https://app.example.com/back",
  });
  assert.equal(initiated.status, "INITIATED");
  assert.match(initiated.redirect_url, /^http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
  await assert.rejects(client.waitForConnection(initiated.id, { timeoutMs: 300, pollIntervalMs: 100 }), (error) => {
    assert.ok(error instanceof WaitTimeoutError);
    assert.equal(error.account.id, initiated.id);
    assert.equal(error.account.status, "INITIATED");
    return true;
  });
  await client.deleteAccount(initiated.id, { revoke: false });
});

// The user's browser: to the provider, which approves at once, then to Keyfob's callback.
async function approve(authorizationUrl) {
  const toCallback = await fetch(authorizationUrl, { redirect: "manual" });
  const back = await fetch(toCallback.headers.get("location"), { redirect: "manual" });
  return new URL(back.headers.get("location")).searchParams.get("status");
}

test("an OAuth connection the user approves: waitForConnection returns it ACTIVE; refresh, events, reinitiate", async () => {
  const initiated = await client.initiateConnection(env.KEYFOB_TEST_OAUTH_INTEGRATION, entity, {
    redirectUrl: "https://app.example.com/back",
  });
  const [active] = await Promise.all([
    client.waitForConnection(initiated.id, { timeoutMs: 20_000, pollIntervalMs: 100 }),
    approve(initiated.redirect_url),
  ]);
  assert.equal(active.status, "ACTIVE");
  assert.ok(active.token_expires_at);
  const before = (await client.getCredentials(initiated.id)).credentials.access_token;
  const refreshed = await client.refreshAccount(initiated.id);
  assert.ok(refreshed.last_refreshed_at);
  assert.notEqual((await client.getCredentials(initiated.id)).credentials.access_token, before);
  const events = await client.getAccountEvents(initiated.id);
  assert.deepEqual(
    events.items.map((event) => event.type),
    ["Keyfob.ConnectionRefreshed", "Keyfob.ConnectionActivated", "Keyfob.ConnectionInitiated"],
  );
  assert.equal(events.items[1].previous_status, "INITIATED");
  // An ACTIVE account cannot be started again: a ConflictError with the API's code
  await assert.rejects(client.reinitiateAccount(initiated.id), (error) => error instanceof ConflictError && error.status === 409);
  const deleted = await client.deleteAccount(initiated.id);
  assert.equal(deleted.revocation.status, "revoked");
});

test("a connect link is created; a bad redirect is refused with its code", async () => {
  const integration = await keyedIntegration();
  const link = await client.createConnectLink(integration.id, entity, "https://app.example.com/done");
  assert.match(link.url, /\/v1\/connect\//);
  await assert.rejects(
    client.createConnectLink(integration.id, entity, "javascript:alert(1)"),
    (error) => error instanceof ValidationError && error.status === 422 && error.code === "invalid_redirect_url",
  );
  await client.deleteIntegration(integration.id);
});

test("a wrong key is an AuthError; the key is never sent over plain http to another host", async () => {
  const stranger = new KeyfobClient({ baseUrl: env.KEYFOB_URL, apiKey: "kf_wrong" });
  await assert.rejects(stranger.listApps(), (error) => error instanceof AuthError && [401, 403].includes(error.status));
  assert.throws(() => new KeyfobClient({ baseUrl: "http://keyfob.example.com", apiKey: "k" }), ConfigurationError);
  assert.throws(() => new KeyfobClient({ baseUrl: "https://user:pw@keyfob.example.com", apiKey: "k" }), ConfigurationError);
  assert.ok(new KeyfobClient({ baseUrl: "https://keyfob.example.com/", apiKey: "k" }).baseUrl === "https://keyfob.example.com");
});

test("a 503 is retried honouring Retry-After; a 429 past the retries is a RateLimitedError", async () => {
  const answers = [
    new Response(JSON.stringify({ error: { code: "refresh_in_progress", message: "busy" } }), { status: 503, headers: { "retry-after": "0" } }),
    new Response(JSON.stringify({ items: [] }), { status: 200 }),
  ];
  const calls = [];
  const stub = async (url, init) => {
    calls.push([url, init.headers["x-api-key"], init.redirect]);
    return answers.shift();
  };
  const local = new KeyfobClient({ baseUrl: "http://127.0.0.1:1", apiKey: "kf_k", fetch: stub });
  assert.deepEqual(await local.listApps(), []);
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[0], ["http://127.0.0.1:1/v1/apps", "kf_k", "manual"]);

  const limited = new KeyfobClient({
    baseUrl: "http://127.0.0.1:1",
    apiKey: "kf_k",
    maxRetries: 0,
    fetch: async () => new Response(JSON.stringify({ message: "Too Many Requests" }), { status: 429, statusText: "Too Many Requests", headers: { "retry-after": "7" } }),
  });
  await assert.rejects(limited.listApps(), (error) => {
    assert.equal(error.name, "RateLimitedError");
    assert.equal(error.code, "too_many_requests");
    assert.equal(error.retryAfter, 7);
    assert.ok(!error.message.includes("kf_k"));
    return true;
  });
});
