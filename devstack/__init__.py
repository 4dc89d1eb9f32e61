"""devstack: Keyfob run locally without Docker, from ``template.yaml`` as SAM's translator
makes it (``python -m devstack --help``); see the modules' own docstrings."""
