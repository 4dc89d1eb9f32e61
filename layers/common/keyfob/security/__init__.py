"""Envelope encryption (``crypto``), outbound calls to public addresses only (``egress``,
``http``), and the connect page's CSRF tokens (``csrf``)."""
