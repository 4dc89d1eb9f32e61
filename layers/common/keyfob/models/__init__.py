"""Pydantic models: the API's, one module per area (``apps``, ``integrations``,
``accounts``, ``proxy``, ``links``: a function loads the ones it routes), the stored
records (``records``), the events and commands on the bus (``events``), and what they
share (``types``, ``settings``)."""
