"""The only place that knows HTTP: the resolver every API function routes with, the one
handler decorator, errors as status codes, and the pages a browser sees."""
