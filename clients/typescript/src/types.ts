/** The API's models, named as the Python client names them, all generated from the API's
 * OpenAPI document (src/schema.ts, by openapi-typescript: `npm run generate`). */
import type { components, operations } from "./schema.js";

type Schemas = components["schemas"];

export type Account = Schemas["AccountView"];
export type AccountPage = Schemas["AccountPage"];
export type AccountEvents = Schemas["AccountEvents"];
export type AccountEvent = Schemas["AccountEvent"];
export type App = Schemas["AppView"];
export type AppParams = Schemas["AppParams"];
export type ConnectLink = Schemas["ConnectLink"];
export type Credentials = Schemas["Credentials"];
export type DeletedAccount = Schemas["Deleted"];
export type InitiatedAccount = Schemas["InitiatedAccount"];
export type Integration = Schemas["IntegrationView"];
export type IntegrationPage = Schemas["IntegrationPage"];
export type IntegrationCreate = Schemas["IntegrationCreate"];
export type ConnectionCreate = Schemas["ConnectionCreate"];
export type ProxyRequest = Schemas["ProxyRequest"];
export type ProxyResponse = Schemas["ProxyResponse"];
export type Status = Account["status"];
export type AuthScheme = Schemas["AuthScheme"];

export type WebhookEndpoint = Schemas["WebhookView"];
export type CreatedWebhookEndpoint = Schemas["CreatedWebhook"];
export type RotatedWebhookSecret = Schemas["RotatedSecret"];
export type WebhookAttempt = Schemas["AttemptView"];
export type QueuedDelivery = Schemas["Queued"];
export type WebhookEventType = NonNullable<Schemas["WebhookCreate"]["event_types"]>[number];

/** The query a list of accounts takes. */
export type AccountFilter = NonNullable<
  operations["list_accounts_v1_connected_accounts_get"]["parameters"]["query"]
>;
