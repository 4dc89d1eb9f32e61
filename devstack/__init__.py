"""devstack: Keyfob run locally without Docker, from ``template.yaml`` as SAM's translator
makes it (``python -m devstack --help``; each module says what it does).

Unlike AWS: all functions share one process (one ``os.environ``, one copy of each module
outside their code directories); IAM, key and resource policies are not enforced; DynamoDB
TTL deletes nothing; a rule's function errors are logged, not retried.
"""
