"""Faults: the embedded Toxiproxy-compatible proxy, its client, and (later) process faults.

- :mod:`wsquake.faults.proxy` — the server (``wsquake proxy``, :class:`EmbeddedToxiproxy`).
- :mod:`wsquake.faults.toxics` — pure toxic stages and their registry.
- :mod:`wsquake.faults.wsframes` — the RFC 6455 stream tracker behind the ``x-ws-*`` toxics.
- :mod:`wsquake.faults.client` — the client wrapper over ``toxiproxy-python``.
"""
