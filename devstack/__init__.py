"""devstack: Keyfob running locally without Docker, driven by ``template.yaml``
(``python -m devstack --help``). SAM's own translator turns the template into plain
CloudFormation (``template``); ``moto_server`` embeds moto, ``resources`` creates the
tables, keys, queues and buses, ``gateway`` emulates the HTTP API (running the functions
in-process with ``runtime``), ``rules`` runs the schedules and event rules, ``seed`` makes
the dev tenant, ``oauth_provider`` is the demo and test OAuth 2.0 provider.

Unlike AWS: all functions share one process (one ``os.environ``, one copy of each module
outside their code directory); IAM, key and resource policies are not enforced; DynamoDB
TTL deletes nothing; a rule's function errors are logged, not retried.
"""
