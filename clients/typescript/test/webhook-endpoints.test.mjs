// Webhook endpoints through the TypeScript client, and real deliveries from the local
// stack verified by its Webhook class: a receiver on loopback, the delivery function fed
// by the webhook queue (tests/integration/test_typescript_client.py polls it). A tenant
// of its own (KEYFOB_TEST_WEBHOOK_API_KEY), so no other test's events reach it.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { KeyfobClient, NotFoundError, ValidationError, Webhook, WebhookVerificationError } from "../dist/index.js";

const client = new KeyfobClient({ apiKey: process.env.KEYFOB_TEST_WEBHOOK_API_KEY });
const received = [];
const answers = [];
let server;
let url;

before(async () => {
  server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(answers.shift() ?? 204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}/hooks/keyfob`;
});

after(() => server.close());

async function until(check, what) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const found = await check();
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("an endpoint is made, a test event reaches it signed, a failed attempt is retried, the secret rotated", async () => {
  const created = await client.createWebhook(url, { description: "TypeScript test" });
  assert.match(created.secret, /^whsec_/);
  const listed = await client.listWebhooks();
  assert.deepEqual(
    listed.map((endpoint) => endpoint.id),
    [created.id],
  );
  assert.ok(!JSON.stringify(listed).includes(created.secret));

  // A test event, answered 500: one failed attempt
  answers.push(500);
  const messageId = await client.testWebhook(created.id);
  const [first] = await until(() => received.length >= 1 && received, "the test delivery");
  const hook = new Webhook(created.secret);
  const payload = await hook.verify(first.body, first.headers);
  assert.equal(first.headers["webhook-id"], messageId);
  assert.equal(typeof payload.type, "string");
  const [failed] = await until(async () => {
    const attempts = await client.listWebhookAttempts(created.id);
    return attempts.length >= 1 && attempts;
  }, "the failed attempt");
  assert.equal(failed.status_code, 500);
  assert.equal(failed.succeeded, false);

  // Retried on request: the same message, the same webhook-id
  assert.equal(await client.retryWebhookAttempt(created.id, failed.id), messageId);
  const second = await until(() => received.length >= 2 && received[1], "the retried delivery");
  assert.equal(second.headers["webhook-id"], messageId);
  assert.deepEqual(await hook.verify(second.body, second.headers), payload);

  // A tampered body is refused
  await assert.rejects(hook.verify(second.body.replace("}", ', "x": 1}'), second.headers), WebhookVerificationError);

  // Rotated: both secrets sign while the old one is still valid
  const rotated = await client.rotateWebhookSecret(created.id);
  assert.notEqual(rotated.secret, created.secret);
  await client.testWebhook(created.id);
  const third = await until(() => received.length >= 3 && received[2], "the delivery after rotation");
  assert.equal(third.headers["webhook-signature"].split(" ").length, 2);
  await new Webhook(rotated.secret).verify(third.body, third.headers);
  await hook.verify(third.body, third.headers);

  await client.deleteWebhook(created.id);
  assert.deepEqual(await client.listWebhooks(), []);
  await assert.rejects(client.testWebhook(created.id), (error) => error instanceof NotFoundError);
});

test("an endpoint URL Keyfob would not call is refused with the API's code", async () => {
  await assert.rejects(client.createWebhook("ftp://example.com/hook"), (error) => {
    assert.ok(error instanceof ValidationError);
    assert.ok(error.code.length > 0);
    return true;
  });
});
