/** The Keyfob API client: one method per route, typed results (the Python client's surface). */
import {
  ConfigurationError,
  ConfirmationRequiredError,
  ConnectionFailedError,
  UnexpectedResponseError,
  WaitTimeoutError,
} from "./errors.js";
import { Transport, segment } from "./http.js";
import type {
  Account,
  AccountEvents,
  AccountPage,
  App,
  AppParams,
  ConnectLink,
  CreatedWebhookEndpoint,
  Credentials,
  DeletedAccount,
  InitiatedAccount,
  Integration,
  IntegrationPage,
  ProxyResponse,
  QueuedDelivery,
  RotatedWebhookSecret,
  Status,
  WebhookAttempt,
  WebhookEndpoint,
  WebhookEventType,
} from "./types.js";

export interface ClientOptions {
  /** Defaults to the environment's KEYFOB_URL. */
  baseUrl?: string;
  /** Defaults to the environment's KEYFOB_API_KEY. */
  apiKey?: string;
  /** Each request's time-out; 30 s by default. */
  timeoutMs?: number;
  /** A 429 or 503 answer (the server did nothing) is retried this many times, honouring Retry-After. */
  maxRetries?: number;
  /** Send the key over plain http to a host that is not loopback. */
  allowInsecureHttp?: boolean;
  /** The fetch to use (globalThis.fetch by default). */
  fetch?: typeof fetch;
}

export interface AccountListOptions {
  entityId?: string;
  app?: string;
  integrationId?: string;
  status?: Status;
}

export interface WaitOptions {
  timeoutMs?: number;
  pollIntervalMs?: number;
}

// States a connection does not leave by itself: waiting longer cannot make it ACTIVE.
const DEAD_ENDS = new Set<Status>(["FAILED", "EXPIRED", "INACTIVE"]);

function env(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return process?.env?.[name];
}

function withoutUndefined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Every item of every page. A filtered page may be short, even empty, while more follow:
 * only a null cursor ends the list. */
async function* follow<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; next_cursor: string | null }>): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (!page.next_cursor) return;
    cursor = page.next_cursor;
  }
}

const account = (id: string) => `/v1/connected_accounts/${segment(id)}`;
const webhook = (id: string) => `/v1/webhooks/${segment(id)}`;

export class KeyfobClient {
  readonly #http: Transport;

  constructor(options: ClientOptions = {}) {
    const baseUrl = options.baseUrl ?? env("KEYFOB_URL");
    const apiKey = options.apiKey ?? env("KEYFOB_API_KEY");
    if (!baseUrl) throw new ConfigurationError("no Keyfob URL: pass baseUrl or set KEYFOB_URL");
    if (!apiKey) throw new ConfigurationError("no API key: pass apiKey or set KEYFOB_API_KEY");
    this.#http = new Transport(baseUrl, apiKey, {
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      allowInsecureHttp: options.allowInsecureHttp ?? false,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    });
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  // --- apps ---------------------------------------------------------------------------

  /** The catalog's apps, optionally only those offering `authScheme`. */
  async listApps(authScheme?: string): Promise<App[]> {
    const answer = await this.#http.request<{ items?: App[] }>("GET", "/v1/apps", { query: { auth_scheme: authScheme } });
    return items(answer);
  }

  getApp(app: string): Promise<App> {
    return this.#http.request("GET", `/v1/apps/${segment(app)}`);
  }

  /** What an integration (the developer) and a connection (the end user) must supply. */
  getAppParams(app: string, authScheme: string): Promise<AppParams> {
    return this.#http.request("GET", `/v1/apps/${segment(app)}/params`, { query: { auth_scheme: authScheme } });
  }

  // --- integrations ---------------------------------------------------------------------

  /** `credentials` are the app's integration_fields (client_id, client_secret, scopes);
   * `oauth` and `api` override the catalog's settings. */
  createIntegration(
    app: string,
    authScheme: string,
    options: {
      name?: string;
      credentials?: Record<string, string | string[]>;
      oauth?: Record<string, unknown>;
      api?: Record<string, unknown>;
      requireConfirmation?: boolean;
    } = {},
  ): Promise<Integration> {
    const body = withoutUndefined({
      app,
      auth_scheme: authScheme,
      name: options.name,
      credentials: options.credentials,
      oauth: options.oauth,
      api: options.api,
      require_confirmation: options.requireConfirmation,
    });
    return this.#http.request("POST", "/v1/integrations", { body });
  }

  listIntegrationsPage(options: { limit?: number; cursor?: string } = {}): Promise<IntegrationPage> {
    return this.#http.request("GET", "/v1/integrations", { query: { limit: options.limit, cursor: options.cursor } });
  }

  /** Every integration, following the cursor from page to page: `for await (const i of ...)`. */
  listIntegrations(options: { pageSize?: number } = {}): AsyncGenerator<Integration> {
    return follow((cursor) => this.listIntegrationsPage({ limit: options.pageSize, cursor }));
  }

  getIntegration(integrationId: string): Promise<Integration> {
    return this.#http.request("GET", `/v1/integrations/${segment(integrationId)}`);
  }

  /** Refused (ConflictError) while the integration has connected accounts. */
  async deleteIntegration(integrationId: string): Promise<void> {
    await this.#http.request("DELETE", `/v1/integrations/${segment(integrationId)}`);
  }

  // --- connected accounts ----------------------------------------------------------------

  /** Start connecting `entityId`'s account. OAuth 2.0: send the user to the result's
   * `redirect_url`, then {@link waitForConnection}. API key and the like: `params` are the
   * app's connection_fields and the account is ACTIVE at once. */
  initiateConnection(
    integrationId: string,
    entityId: string,
    options: { params?: Record<string, string>; redirectUrl?: string; labels?: Record<string, string>; validate?: boolean } = {},
  ): Promise<InitiatedAccount> {
    const body = withoutUndefined({
      integration_id: integrationId,
      entity_id: entityId,
      params: options.params,
      redirect_url: options.redirectUrl,
      labels: options.labels,
    });
    return this.#http.request("POST", "/v1/connected_accounts", { query: { validate: options.validate }, body });
  }

  /** One page, newest first. A filtered page may hold fewer than `limit` items while
   * `next_cursor` is set. */
  listAccountsPage(options: AccountListOptions & { limit?: number; cursor?: string } = {}): Promise<AccountPage> {
    const query = {
      entity_id: options.entityId,
      app: options.app,
      integration_id: options.integrationId,
      status: options.status,
      limit: options.limit,
      cursor: options.cursor,
    };
    return this.#http.request("GET", "/v1/connected_accounts", { query });
  }

  /** Every matching account, newest first, following the cursor from page to page. */
  listAccounts(options: AccountListOptions & { pageSize?: number } = {}): AsyncGenerator<Account> {
    const { pageSize, ...filter } = options;
    return follow((cursor) => this.listAccountsPage({ ...filter, limit: pageSize, cursor }));
  }

  getAccount(accountId: string): Promise<Account> {
    return this.#http.request("GET", account(accountId));
  }

  /** The account's recent events, newest first, from its record: last status change
   * (with its reason), last refresh, creation. */
  getAccountEvents(accountId: string): Promise<AccountEvents> {
    return this.#http.request("GET", `${account(accountId)}/events`);
  }

  /** The decrypted credentials of an ACTIVE account (ConflictError otherwise). */
  getCredentials(accountId: string): Promise<Credentials> {
    return this.#http.request("GET", `${account(accountId)}/credentials`);
  }

  /** Refresh the OAuth tokens now; a concurrent refresh's 503 is retried like any 503. */
  refreshAccount(accountId: string): Promise<Account> {
    return this.#http.request("POST", `${account(accountId)}/refresh`);
  }

  /** Make the account INACTIVE: its credentials are no longer handed out. */
  disableAccount(accountId: string): Promise<Account> {
    return this.#http.request("POST", `${account(accountId)}/disable`);
  }

  enableAccount(accountId: string): Promise<Account> {
    return this.#http.request("POST", `${account(accountId)}/enable`);
  }

  /** Start the connection again for the same account (e.g. after FAILED or EXPIRED). */
  reinitiateAccount(accountId: string, options: { redirectUrl?: string } = {}): Promise<InitiatedAccount> {
    return this.#http.request("POST", `${account(accountId)}/reinitiate`, {
      body: withoutUndefined({ redirect_url: options.redirectUrl }),
    });
  }

  /** Confirm an AWAITING_CONFIRMATION account with the code the redirect carried. */
  confirmAccount(accountId: string, options: { code: string; entityId: string }): Promise<Account> {
    return this.#http.request("POST", `${account(accountId)}/confirm`, {
      body: { code: options.code, entity_id: options.entityId },
    });
  }

  /** Delete the account; with `revoke` (the default) Keyfob first revokes the grant at the
   * provider. The result's `revocation` says how that went. */
  deleteAccount(accountId: string, options: { revoke?: boolean } = {}): Promise<DeletedAccount> {
    return this.#http.request("DELETE", account(accountId), { query: { revoke: options.revoke ?? true } });
  }

  /**
   * Poll the account until it is ACTIVE, and return it. Rejects with ConnectionFailedError
   * if it is FAILED, EXPIRED or INACTIVE, ConfirmationRequiredError if it is
   * AWAITING_CONFIRMATION, and WaitTimeoutError after `timeoutMs` (5 minutes by default).
   */
  async waitForConnection(accountId: string, options: WaitOptions = {}): Promise<Account> {
    const timeoutMs = options.timeoutMs ?? 300_000;
    const pollIntervalMs = options.pollIntervalMs ?? 2_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await this.getAccount(accountId);
      if (current.status === "ACTIVE") return current;
      if (current.status === "AWAITING_CONFIRMATION") throw new ConfirmationRequiredError(current);
      if (DEAD_ENDS.has(current.status)) throw new ConnectionFailedError(current);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new WaitTimeoutError(current, timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, remaining)));
    }
  }

  // --- acting on the entity's behalf -----------------------------------------------------

  /** Send a request to the app's API as the account's entity: Keyfob applies the credential.
   * The result is the upstream's answer, whatever its status. */
  proxy(
    accountId: string,
    method: string,
    path: string,
    options: { query?: Record<string, string | string[]>; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<ProxyResponse> {
    const body = withoutUndefined({
      method: method.toUpperCase(),
      path,
      query: options.query,
      headers: options.headers,
      body: options.body,
    });
    return this.#http.request("POST", `${account(accountId)}/proxy`, { body });
  }

  /** A single-use link to Keyfob's hosted connect page, for the end user to open. */
  createConnectLink(
    integrationId: string,
    entityId: string,
    redirectUrl: string,
    options: { labels?: Record<string, string> } = {},
  ): Promise<ConnectLink> {
    const body = withoutUndefined({
      integration_id: integrationId,
      entity_id: entityId,
      redirect_url: redirectUrl,
      labels: options.labels,
    });
    return this.#http.request("POST", "/v1/connect_links", { body });
  }

  // --- webhooks ------------------------------------------------------------------------

  /** A webhook endpoint; the result's `secret` (`whsec_…`) is shown this once: verify
   * deliveries with it ({@link Webhook}). `eventTypes`: only these events (all by default). */
  createWebhook(
    url: string,
    options: { eventTypes?: WebhookEventType[]; description?: string } = {},
  ): Promise<CreatedWebhookEndpoint> {
    const body = withoutUndefined({ url, event_types: options.eventTypes, description: options.description });
    return this.#http.request("POST", "/v1/webhooks", { body });
  }

  /** The tenant's webhook endpoints (never their secrets). */
  async listWebhooks(): Promise<WebhookEndpoint[]> {
    const answer = await this.#http.request<{ items?: WebhookEndpoint[] }>("GET", "/v1/webhooks");
    return items(answer);
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.#http.request("DELETE", webhook(webhookId));
  }

  /** A new secret, shown once; the previous one keeps signing beside it until
   * `previous_secret_expires_at` (24 hours), so receivers can switch without a gap. */
  rotateWebhookSecret(webhookId: string): Promise<RotatedWebhookSecret> {
    return this.#http.request("POST", `${webhook(webhookId)}/rotate`);
  }

  /** Send a test event once; resolves to its message id (the webhook-id header). */
  async testWebhook(webhookId: string): Promise<string> {
    return messageId(await this.#http.request("POST", `${webhook(webhookId)}/test`));
  }

  /** The endpoint's delivery attempts, newest first (at most the last 100). */
  async listWebhookAttempts(webhookId: string): Promise<WebhookAttempt[]> {
    const answer = await this.#http.request<{ items?: WebhookAttempt[] }>("GET", `${webhook(webhookId)}/attempts`);
    return items(answer);
  }

  /** Deliver an attempt's message again (same `webhook-id`); resolves to that id. */
  async retryWebhookAttempt(webhookId: string, attemptId: string): Promise<string> {
    return messageId(await this.#http.request("POST", `${webhook(webhookId)}/attempts/${segment(attemptId)}/retry`));
  }
}

function messageId(answer: QueuedDelivery | undefined): string {
  if (!answer || typeof answer.message_id !== "string") {
    throw new UnexpectedResponseError("expected a JSON object with a message_id");
  }
  return answer.message_id;
}

function items<T>(answer: { items?: T[] } | undefined): T[] {
  if (!answer || !Array.isArray(answer.items)) {
    throw new UnexpectedResponseError("expected a JSON object with a list of items");
  }
  return answer.items;
}
