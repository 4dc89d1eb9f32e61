"""The use cases, one module each; a route makes one call into one of them. Every
status change of a connected account goes through ``transitions``."""
