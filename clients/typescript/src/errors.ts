/**
 * What the client throws. Every class derives from {@link KeyfobClientError}.
 *
 * An answer from the API that is not a success is an {@link ApiError} (or a subclass by
 * status) carrying the API's `code`, `message` and `details` and the HTTP `status`. No
 * message ever holds the API key or a credential: messages come from the API, which never
 * puts a secret in one, or name only paths and statuses.
 */
import type { Account } from "./types.js";

export class KeyfobClientError extends Error {
  override name = "KeyfobClientError";
}

/** No base URL or API key, or a base URL the client will not send the key to. */
export class ConfigurationError extends KeyfobClientError {
  override name = "ConfigurationError";
}

/** The API could not be reached, or did not answer in time. */
export class TransportError extends KeyfobClientError {
  override name = "TransportError";
}

/** The server answered with something that is not Keyfob's API (e.g. not JSON). */
export class UnexpectedResponseError extends KeyfobClientError {
  override name = "UnexpectedResponseError";
}

/** The API answered with an error status: 4xx or 5xx (or an unexpected redirect). */
export class ApiError extends KeyfobClientError {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    readonly details: unknown = undefined,
    /** Seconds the server asked to wait before trying again (`Retry-After`), if any. */
    readonly retryAfter: number | undefined = undefined,
  ) {
    super(`${code}: ${apiMessage} (HTTP ${status})`);
  }
}

/** 401 or 403: the API key is missing or was refused. */
export class AuthError extends ApiError {
  override name = "AuthError";
}
/** 404: no such resource for this tenant (or no such route). */
export class NotFoundError extends ApiError {
  override name = "NotFoundError";
}
/** 409: the resource's state does not allow it. */
export class ConflictError extends ApiError {
  override name = "ConflictError";
}
/** 422: the request was refused; `details` names what is wrong. */
export class ValidationError extends ApiError {
  override name = "ValidationError";
}
/** 429: too many requests; `retryAfter` says how long to wait when the server knows. */
export class RateLimitedError extends ApiError {
  override name = "RateLimitedError";
}
/** 5xx: the server or a provider behind it failed; a 503 is worth retrying. */
export class ServerError extends ApiError {
  override name = "ServerError";
}

/** Waiting for a connection ended in a state it cannot leave by itself (FAILED, EXPIRED,
 * INACTIVE). `account` is the account as last seen. */
export class ConnectionFailedError extends KeyfobClientError {
  override name = "ConnectionFailedError";
  constructor(readonly account: Account) {
    const reason = account.status_reason ? `: ${account.status_reason}` : "";
    super(`connected account ${account.id} is ${account.status}${reason}`);
  }
}

/** Waiting found the account AWAITING_CONFIRMATION: confirm it first, then wait again. */
export class ConfirmationRequiredError extends KeyfobClientError {
  override name = "ConfirmationRequiredError";
  constructor(readonly account: Account) {
    super(`connected account ${account.id} is waiting for confirmation`);
  }
}

/** The connection was not ACTIVE within the time given. `account` is as last seen. */
export class WaitTimeoutError extends KeyfobClientError {
  override name = "WaitTimeoutError";
  constructor(
    readonly account: Account,
    readonly timeoutMs: number,
  ) {
    super(`connected account ${account.id} still ${account.status} after ${timeoutMs / 1000} s`);
  }
}

const BY_STATUS: Record<number, typeof ApiError> = {
  401: AuthError,
  403: AuthError,
  404: NotFoundError,
  409: ConflictError,
  422: ValidationError,
  429: RateLimitedError,
};

export function errorClass(status: number): typeof ApiError {
  if (status >= 500) return ServerError;
  return BY_STATUS[status] ?? ApiError;
}

/** `Retry-After` in seconds, from delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const when = Date.parse(trimmed);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, (when - now) / 1000);
}

function snake(phrase: string): string {
  return phrase.toLowerCase().replace(/[ -]/g, "_");
}

/**
 * The error for an error answer. Keyfob's functions answer
 * `{"error": {"code", "message", "details"}}`; API Gateway itself answers `{"message"}`
 * (a refused key, throttling, an unknown route): its code is the status text in snake case.
 */
export function errorFromResponse(
  status: number,
  statusText: string,
  body: string,
  retryAfter: string | null,
): ApiError {
  const phrase = statusText || `HTTP ${status}`;
  let code = snake(phrase);
  let message = phrase;
  let details: unknown;
  let document: unknown;
  try {
    document = body ? JSON.parse(body) : undefined;
  } catch {
    document = undefined;
  }
  if (document && typeof document === "object") {
    const error = (document as { error?: unknown }).error;
    if (error && typeof error === "object") {
      const e = error as { code?: unknown; message?: unknown; details?: unknown };
      code = typeof e.code === "string" && e.code ? e.code : code;
      message = typeof e.message === "string" && e.message ? e.message : message;
      details = e.details;
    } else if (typeof (document as { message?: unknown }).message === "string") {
      message = (document as { message: string }).message;
    }
  }
  const Class = errorClass(status);
  return new Class(status, code, message, details, parseRetryAfter(retryAfter));
}
