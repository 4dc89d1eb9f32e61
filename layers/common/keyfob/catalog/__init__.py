"""The app catalog: which third-party services Keyfob knows and how to connect to each
(``catalog.json``, read by ``loader``), its schema, and the rules for the values each app
asks for (``params``). Nothing is imported here: a function loads the parts it uses
(``names`` for a slug or a scheme, without the catalog's models)."""
