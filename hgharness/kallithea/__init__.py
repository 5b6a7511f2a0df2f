"""Kallithea 0.7.0 as an embedded target: its own cached venv (venv.py), the server on loopback (server.py),
fixture provisioning through the API and the wire protocol (provision.py), and a logged-in web session for the
few things the API cannot do (web.py). The JSON-RPC client is hgharness/kallithea_api.py; the site adapter is
hgharness/sites/kallithea.py.
"""
