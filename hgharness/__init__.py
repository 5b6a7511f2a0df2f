"""hgharness: functional and load testing harness for Mercurial code-hosting sites."""

__version__ = "0.1.0"
