"""The records stored in DynamoDB, apart from the API's models: a record holds what the
API never shows (encrypted secrets, leases, hashes), and the API shows what a record
is turned into (``AccountRecord.view``). One module per family of records, so that a
function loads the records it stores, not every record (``base``: what they share)."""
