"""Pydantic models: the API's (``api``), the stored records (``records``), the events
and commands on the bus (``events``), and what they share (``types``, ``settings``)."""
