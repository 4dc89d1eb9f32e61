"""All DynamoDB access, typed: one module per aggregate (tenants, integrations, accounts,
OAuth states, connect links, the outbox). Every request-path access is a key lookup or
a Query; every write that must not happen twice is conditional. Failures are store
errors (``keyfob.store.errors``), never the API's."""
