"""Load profiles: Locust users drawn from the fixture, named mixes, bounded shapes and SLO gates.

Only load/users.py, load/collect.py and load/locustfile.py import Locust (it monkey-patches the process with
gevent on import): everything the harness process itself runs (catalog, mixes, shapes, gates, runner) is plain
Python, so `hgharness run` never gets patched.
"""
