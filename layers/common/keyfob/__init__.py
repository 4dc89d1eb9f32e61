"""Keyfob: what the Lambda functions run. Layers, each importing only those below it
(checked by import-linter): web -> services -> auth -> store | security -> models ->
catalog -> core."""
