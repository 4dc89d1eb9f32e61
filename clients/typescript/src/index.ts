export { KeyfobClient } from "./client.js";
export type { AccountListOptions, ClientOptions, WaitOptions } from "./client.js";
export * from "./errors.js";
export type * from "./types.js";
export type { components, operations, paths } from "./schema.js";
export { Webhook, WebhookVerificationError, verifyWebhook, DEFAULT_TOLERANCE_SECONDS } from "./webhooks.js";
export type { VerifyOptions, WebhookHeaders } from "./webhooks.js";
