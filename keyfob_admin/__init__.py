"""``keyfob-admin``: administration of a Keyfob deployment (tenants and the AWS accounts
that act for them), run wherever AWS credentials reach its table. Not part of the
Lambda layer."""
