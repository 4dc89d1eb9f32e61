/**
 * Verifying Keyfob's webhooks, which follow the Standard Webhooks specification
 * (https://www.standardwebhooks.com): the `webhook-signature` header holds one or more
 * space-separated `v1,<base64 HMAC-SHA256>` signatures of `${webhook-id}.${webhook-timestamp}.${body}`,
 * keyed with the base64 secret after `whsec_`; while a secret is rotated, two signatures.
 * WebCrypto only (Node 20+, browsers, edge runtimes): no dependency.
 */
import { KeyfobClientError } from "./errors.js";

/** How far `webhook-timestamp` may be from now, either way, in seconds (the specification's default). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const PREFIX = "whsec_";

/** The delivery is not Keyfob's, was altered, or is too old (or too new) to accept. */
export class WebhookVerificationError extends KeyfobClientError {
  override name = "WebhookVerificationError";
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(" ") : value;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function toBase64(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

export interface VerifyOptions {
  toleranceSeconds?: number;
  /** The current time in milliseconds (for tests). */
  now?: number;
}

export class Webhook {
  readonly #key: Promise<CryptoKey>;

  /** `secret`: the endpoint's signing secret as Keyfob showed it (`whsec_…`). */
  constructor(secret: string) {
    const raw = fromBase64(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret);
    if (!raw || raw.length === 0) {
      throw new WebhookVerificationError("the signing secret is not base64 after whsec_");
    }
    this.#key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  }

  /**
   * Check a delivery and return its parsed JSON body. `payload` is the raw body exactly as
   * received (parse it only after this): a re-serialised body does not verify. Rejects
   * with WebhookVerificationError when a header is missing, the timestamp is outside the
   * tolerance, or no `v1` signature matches.
   */
  async verify(payload: string | Uint8Array, headers: WebhookHeaders, options: VerifyOptions = {}): Promise<unknown> {
    const id = header(headers, "webhook-id");
    const timestamp = header(headers, "webhook-timestamp");
    const signatures = header(headers, "webhook-signature");
    if (!id || !timestamp || !signatures) {
      throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature");
    }
    if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError("invalid webhook-timestamp");
    const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    const now = Math.floor((options.now ?? Date.now()) / 1000);
    const sent = Number(timestamp);
    if (sent < now - tolerance) throw new WebhookVerificationError("message timestamp too old");
    if (sent > now + tolerance) throw new WebhookVerificationError("message timestamp too new");
    const body = typeof payload === "string" ? payload : new TextDecoder("utf-8", { fatal: true }).decode(payload);
    const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
    const key = await this.#key;
    for (const entry of signatures.split(" ")) {
      const [version, signature] = entry.split(",", 2);
      if (version !== "v1" || !signature) continue;
      const bytes = fromBase64(signature);
      // subtle.verify compares in constant time.
      if (bytes && (await crypto.subtle.verify("HMAC", key, bytes, signed))) {
        try {
          return JSON.parse(body);
        } catch {
          throw new WebhookVerificationError("the body is not JSON");
        }
      }
    }
    throw new WebhookVerificationError("no matching signature found");
  }

  /** The `webhook-signature` value for a message (`v1,<base64>`): for tests and tools. */
  async sign(id: string, timestampSeconds: number, payload: string): Promise<string> {
    const signed = new TextEncoder().encode(`${id}.${timestampSeconds}.${payload}`);
    return `v1,${toBase64(await crypto.subtle.sign("HMAC", await this.#key, signed))}`;
  }
}

/** One-call form of {@link Webhook.verify}. */
export function verifyWebhook(
  secret: string,
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  options: VerifyOptions = {},
): Promise<unknown> {
  return new Webhook(secret).verify(payload, headers, options);
}
