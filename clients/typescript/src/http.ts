/** JSON over HTTP with fetch: the API key header, time-outs, retries, no redirects. */
import {
  ApiError,
  ConfigurationError,
  TransportError,
  UnexpectedResponseError,
  errorFromResponse,
} from "./errors.js";

/** Statuses at which the server did not act on the request: any method may be sent again. */
export const RETRYABLE_STATUSES = new Set([429, 503]);
/** A server asking for a longer pause gets the error instead: the caller decides. */
export const MAX_RETRY_WAIT_SECONDS = 20;
const BACKOFF_SECONDS = 0.5;

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface TransportOptions {
  timeoutMs: number;
  maxRetries: number;
  allowInsecureHttp: boolean;
  fetch: typeof fetch;
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** A path segment from an id: encoded, and never empty (that would name another route). */
export function segment(value: string): string {
  if (!value) throw new TypeError("an id must not be empty");
  return encodeURIComponent(value);
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export class Transport {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #options: TransportOptions;

  constructor(baseUrl: string, apiKey: string, options: TransportOptions) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new ConfigurationError(`base URL must be an http(s) URL, not ${JSON.stringify(baseUrl)}`);
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || !url.hostname) {
      throw new ConfigurationError(`base URL must be an http(s) URL, not ${JSON.stringify(baseUrl)}`);
    }
    if (url.username || url.password) {
      // It would be repeated in every error message; the key authenticates instead.
      throw new ConfigurationError("base URL must not carry a user name or password");
    }
    if (url.protocol === "http:" && !(options.allowInsecureHttp || isLoopback(url.hostname))) {
      throw new ConfigurationError(
        "refusing to send the API key over plain http to a host that is not loopback; " +
          "use https (or allowInsecureHttp: true)",
      );
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#apiKey = apiKey;
    this.#options = options;
  }

  /** Send one API request; resolves to the decoded JSON (undefined for an empty answer) or
   * rejects with an ApiError, a TransportError or an UnexpectedResponseError. */
  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    let url = this.baseUrl + path;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null) params.append(name, String(value));
    }
    if (params.size) url += `?${params}`;
    const headers: Record<string, string> = {
      "x-api-key": this.#apiKey,
      accept: "application/json",
    };
    let body: string | undefined = method === "GET" ? undefined : "";
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(method, url, path, headers, body);
      const text = await response.text();
      if (response.status >= 200 && response.status < 300) {
        if (!text) return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new UnexpectedResponseError(`${method} ${path}: the answer is not JSON`);
        }
      }
      const error: ApiError = errorFromResponse(
        response.status,
        response.statusText,
        text,
        response.headers.get("retry-after"),
      );
      const wait = error.retryAfter ?? BACKOFF_SECONDS * 2 ** attempt;
      if (!RETRYABLE_STATUSES.has(error.status) || attempt >= this.#options.maxRetries || wait > MAX_RETRY_WAIT_SECONDS) {
        throw error;
      }
      await sleep(wait);
    }
  }

  async #send(method: string, url: string, path: string, headers: Record<string, string>, body?: string): Promise<Response> {
    try {
      // A redirect is never followed: fetch would carry the key to wherever it points.
      return await this.#options.fetch(url, {
        method,
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new TransportError(`${method} ${path}: no answer within ${this.#options.timeoutMs / 1000} s`);
      }
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
      throw new TransportError(`${method} ${path}: cannot reach ${this.baseUrl}: ${cause}`);
    }
  }
}
