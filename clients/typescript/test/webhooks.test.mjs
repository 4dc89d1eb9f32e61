// Webhook verification against deliveries signed by the Python `standardwebhooks` library
// (the library Keyfob's delivery uses). tests/integration/test_typescript_client.py writes
// them to the JSON file KEYFOB_TEST_WEBHOOK_VECTORS names: the secret, a rotated secret,
// and messages with their headers and the verdict the Python library gave each.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { Webhook, WebhookVerificationError, verifyWebhook } from "../dist/index.js";

const vectors = JSON.parse(readFileSync(process.env.KEYFOB_TEST_WEBHOOK_VECTORS, "utf8"));

for (const message of vectors.messages) {
  test(`python-signed delivery: ${message.name}`, async () => {
    const verifying = verifyWebhook(vectors.secret, message.body, message.headers, { now: message.now * 1000 });
    if (message.python_verdict === "ok") {
      assert.deepEqual(await verifying, JSON.parse(message.body));
    } else {
      await assert.rejects(verifying, WebhookVerificationError);
    }
  });
}

test("a signature made here is the Python library's, byte for byte", async () => {
  const hook = new Webhook(vectors.secret);
  for (const made of vectors.signatures) {
    assert.equal(await hook.sign(made.id, made.timestamp, made.body), made.signature);
  }
});

test("headers come as a Headers object too, and the body as bytes", async () => {
  const [message] = vectors.messages.filter((m) => m.python_verdict === "ok");
  const headers = new Headers(message.headers);
  const body = new TextEncoder().encode(message.body);
  assert.deepEqual(await new Webhook(vectors.secret).verify(body, headers, { now: message.now * 1000 }), JSON.parse(message.body));
});

test("a delivery signed with the new secret only, during a rotation, verifies with that one", async () => {
  const rotated = vectors.messages.find((m) => m.name === "signed with two secrets");
  await verifyWebhook(vectors.rotated_secret, rotated.body, rotated.headers, { now: rotated.now * 1000 });
});

test("a missing header, a malformed secret, or a wrong secret are refused", async () => {
  const [message] = vectors.messages.filter((m) => m.python_verdict === "ok");
  const { "webhook-signature": _, ...unsigned } = message.headers;
  await assert.rejects(verifyWebhook(vectors.secret, message.body, unsigned, { now: message.now * 1000 }), /missing/);
  assert.throws(() => new Webhook("whsec_not base64!"), WebhookVerificationError);
  await assert.rejects(
    verifyWebhook("whsec_" + Buffer.from("another secret!!").toString("base64"), message.body, message.headers, { now: message.now * 1000 }),
    /no matching signature/,
  );
});
