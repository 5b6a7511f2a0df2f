"""The root of the checkout for pytest. The harness's pytest wiring (target options, the Target fixture,
capability and destructive-check skips, failure artifacts, the results file) is the plugin
`hgharness.suites.plugin` (suites/plugin.py), which an installed hgharness registers through the `pytest11`
entry point, so `pytest suites/headless --target URL` works from a checkout and
`pytest --pyargs hgharness.suites.headless --target URL` from an installed harness. This line loads it when
the entry point is not there (PYTEST_DISABLE_PLUGIN_AUTOLOAD); pytest loads a plugin once by its name.
"""

pytest_plugins = ("hgharness.suites.plugin",)
