// Keyfob's console. The API key lives in `apiKey` below and nowhere else: never in
// storage, a cookie or a URL, so reloading or closing the page signs out. Everything is
// built with DOM calls and textContent: nothing the API returns is ever parsed as HTML.

let apiKey = null;
let accountsCursor = null;
let accountsLoad = 0; // only the latest listing asked for is shown

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, code, message) {
    super(`${message} (${code}, HTTP ${status})`);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, { query, body } = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.append(name, String(value));
  }
  const url = params.size ? `${path}?${params}` : path;
  const headers = { "x-api-key": apiKey, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
    redirect: "error",
  });
  const text = await response.text();
  let document_ = null;
  try {
    document_ = text ? JSON.parse(text) : null;
  } catch {
    document_ = null;
  }
  if (!response.ok) {
    const error = document_?.error;
    const code = error?.code ?? response.statusText.toLowerCase().replace(/ /g, "_");
    const message = error?.message ?? document_?.message ?? response.statusText;
    throw new ApiError(response.status, code || "error", message || "Request failed");
  }
  return document_;
}

// --- small DOM helpers -----------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function when(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return el("time", { datetime: iso, text: `${date.toISOString().slice(0, 16).replace("T", " ")} UTC` });
}

function notify(text, { error = false } = {}) {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = error ? "error" : "ok";
  notice.setAttribute("role", error ? "alert" : "status");
}

function failed(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403) && error.code !== "entity_mismatch") {
    signOut(`Signed out: the API refused the key (${error.code}).`);
    return;
  }
  notify(error instanceof ApiError ? error.message : `The API could not be reached: ${error.message}`, { error: true });
}

// --- signing in and out ------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const field = $("api-key");
  const candidate = field.value.trim();
  if (!candidate) return;
  apiKey = candidate;
  field.value = "";
  try {
    await loadIntegrations();
  } catch (error) {
    apiKey = null;
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 403);
    notify(refused ? "That API key was refused." : `Sign-in failed: ${error.message}`, { error: true });
    field.focus();
    return;
  }
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("sign-out").hidden = false;
  notify("Signed in.");
  $("integrations-heading").focus();
  await loadAccounts(false);
}

function signOut(message = "Signed out.") {
  apiKey = null;
  accountsCursor = null;
  accountsLoad += 1;
  for (const id of ["integrations", "accounts", "filter-app", "link-integration"]) {
    const list = $(id);
    for (const child of [...list.children]) {
      if (!(child.tagName === "OPTION" && child.value === "")) child.remove();
    }
  }
  $("link-result").hidden = true;
  $("accounts-summary").textContent = "";
  $("workspace").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  notify(message);
  $("api-key").focus();
}

// --- integrations -----------------------------------------------------------------------

async function loadIntegrations() {
  const found = [];
  let cursor = null;
  do {
    const page = await api("GET", "/v1/integrations", { query: { limit: 100, cursor } });
    found.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  const list = $("integrations");
  list.replaceChildren(
    ...found.map((integration) =>
      el(
        "li",
        { className: "card" },
        el("h3", { text: integration.name }),
        el(
          "dl",
          {},
          ...pair("App", integration.app),
          ...pair("Auth scheme", integration.auth_scheme),
          ...pair("Accounts", String(integration.account_count ?? 0)),
          ...pair("Id", el("code", { text: integration.id })),
        ),
      ),
    ),
  );
  if (!found.length) list.append(el("li", { className: "empty", text: "No integrations yet." }));
  const apps = [...new Set(found.map((i) => i.app))].sort();
  $("filter-app").replaceChildren(el("option", { value: "", text: "Any app" }), ...apps.map((app) => el("option", { text: app })));
  $("link-integration").replaceChildren(
    ...found.map((i) => el("option", { value: i.id, text: `${i.name} (${i.app}, ${i.auth_scheme})` })),
  );
}

// --- accounts ----------------------------------------------------------------------------

function pair(term, value) {
  if (value === null || value === undefined || value === "") return [];
  return [el("dt", { text: term }), el("dd", {}, value)];
}

function upstreamIdentity(account) {
  const name = account.upstream_display_name;
  const id = account.upstream_account_id;
  if (name && id && name !== id) return `${name} (${id})`;
  return name || id || null;
}

function scopes(account) {
  const granted = account.granted_scopes ?? account.scopes;
  if (!Array.isArray(granted)) return null;
  if (!granted.length) return "none";
  return el("ul", { className: "scopes" }, ...granted.map((scope) => el("li", {}, el("code", { text: scope }))));
}

function accountCard(account) {
  const heading = `${account.app} · ${account.entity_id}`;
  const card = el("li", { className: "card", "data-account-id": account.id });
  const events = el("ol", { className: "events", id: `events-${account.id}`, hidden: true, "aria-label": `Recent events of ${heading}` });
  const eventsButton = el("button", {
    type: "button",
    className: "quiet",
    "aria-expanded": "false",
    "aria-controls": events.id,
    text: "Recent events",
  });
  eventsButton.addEventListener("click", () => toggleEvents(account.id, eventsButton, events));
  const actions = el("div", { className: "actions", role: "group", "aria-label": `Actions on ${heading}` });
  const action = (label, handler) => {
    const button = el("button", { type: "button", text: label });
    button.addEventListener("click", () => handler(button));
    actions.append(button);
  };
  if (account.auth_scheme === "OAUTH2") action("Refresh", () => act(account, "refresh"));
  if (account.status === "INACTIVE") action("Enable", () => act(account, "enable"));
  if (account.status === "ACTIVE") action("Disable", () => act(account, "disable"));
  action("Delete", () => remove(account));
  actions.append(eventsButton);
  card.append(
    el("h3", {}, heading, " ", el("span", { className: `status status-${account.status.toLowerCase()}`, text: account.status })),
    el(
      "dl",
      {},
      ...pair("Reason", account.status_reason),
      ...pair("Upstream identity", upstreamIdentity(account)),
      ...pair("Token expires", when(account.token_expires_at)),
      ...pair("Granted scopes", scopes(account)),
      ...pair("Last refreshed", when(account.last_refreshed_at)),
      ...pair("Created", when(account.created_at)),
      ...pair("Id", el("code", { text: account.id })),
    ),
    actions,
    events,
  );
  return card;
}

function filters() {
  return {
    entity_id: $("filter-entity").value.trim(),
    app: $("filter-app").value,
    status: $("filter-status").value,
  };
}

async function loadAccounts(more) {
  const list = $("accounts");
  const mine = ++accountsLoad;
  const page = await api("GET", "/v1/connected_accounts", {
    query: { ...filters(), limit: 25, cursor: more ? accountsCursor : null },
  });
  if (mine !== accountsLoad) return;
  if (!more) list.replaceChildren();
  list.append(...page.items.map(accountCard));
  accountsCursor = page.next_cursor;
  $("more-accounts").hidden = !accountsCursor;
  const shown = list.querySelectorAll("li.card").length;
  $("accounts-summary").textContent = `${shown} account${shown === 1 ? "" : "s"} shown${accountsCursor ? ", more to load" : ""}.`;
}

async function act(account, action) {
  try {
    const updated = await api("POST", `/v1/connected_accounts/${encodeURIComponent(account.id)}/${action}`);
    replaceCard(updated);
    const past = { refresh: "refreshed", disable: "disabled", enable: "enabled" }[action];
    notify(`${account.app} · ${account.entity_id} ${past}: ${updated.status}.`);
  } catch (error) {
    failed(error);
  }
}

function replaceCard(account) {
  const old = document.querySelector(`li[data-account-id="${CSS.escape(account.id)}"]`);
  const card = accountCard(account);
  if (old) old.replaceWith(card);
  card.querySelector("h3").setAttribute("tabindex", "-1");
  card.querySelector("h3").focus();
}

async function remove(account) {
  const heading = `${account.app} · ${account.entity_id}`;
  if (!window.confirm(`Delete ${heading}? Keyfob revokes the grant at the provider and deletes the stored credentials.`)) return;
  try {
    const deleted = await api("DELETE", `/v1/connected_accounts/${encodeURIComponent(account.id)}`);
    document.querySelector(`li[data-account-id="${CSS.escape(account.id)}"]`)?.remove();
    const revocation = deleted.revocation?.status;
    notify(`${heading} deleted${revocation ? ` (revocation: ${revocation})` : ""}.`);
    $("accounts-heading").setAttribute("tabindex", "-1");
    $("accounts-heading").focus();
  } catch (error) {
    failed(error);
  }
}

async function toggleEvents(accountId, button, list) {
  if (button.getAttribute("aria-expanded") === "true") {
    button.setAttribute("aria-expanded", "false");
    list.hidden = true;
    return;
  }
  try {
    const found = await api("GET", `/v1/connected_accounts/${encodeURIComponent(accountId)}/events`);
    list.replaceChildren(
      ...found.items.map((event) =>
        el(
          "li",
          {},
          when(event.at),
          " ",
          el("strong", { text: event.type.replace(/^Keyfob\.Connection/, "") }),
          event.status_reason ? ` – ${event.status_reason}` : "",
        ),
      ),
    );
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
  } catch (error) {
    failed(error);
  }
}

// --- connect links ----------------------------------------------------------------------

async function createLink(event) {
  event.preventDefault();
  try {
    const link = await api("POST", "/v1/connect_links", {
      body: {
        integration_id: $("link-integration").value,
        entity_id: $("link-entity").value.trim(),
        redirect_url: $("link-redirect").value.trim(),
      },
    });
    $("link-url").replaceChildren(el("a", { href: link.url, rel: "noreferrer noopener", target: "_blank", text: link.url }));
    const expires = $("link-expires");
    expires.dateTime = link.expires_at;
    expires.textContent = when(link.expires_at).textContent;
    $("link-result").hidden = false;
    notify("Connect link created: send it to the end user.");
  } catch (error) {
    failed(error);
  }
}

// --- wiring ------------------------------------------------------------------------------

function guarded(handler) {
  return (event) => {
    event?.preventDefault?.();
    handler(event).catch(failed);
  };
}

$("sign-in-form").addEventListener("submit", (event) => signIn(event).catch(failed));
$("sign-out").addEventListener("click", () => signOut());
$("filter-form").addEventListener("submit", guarded(() => loadAccounts(false)));
$("more-accounts").addEventListener("click", guarded(() => loadAccounts(true)));
$("link-form").addEventListener("submit", (event) => createLink(event));
$("api-key").focus();
