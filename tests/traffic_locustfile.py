"""Locust file for the HgUser test: the real HgUser, plus a user that runs push, pull and clone in turn so that a
short run is certain to show every Mercurial request name in Locust's statistics."""

from locust import constant

from hgharness.load.hguser import HgUser


class ScriptedDeveloper(HgUser):
    wait_time = constant(0)

    def cycle(self):
        self.push()  # first: the slowest, so a short run under load still completes one
        self.pull()
        self.clone()

    tasks = [cycle]


__all__ = ["HgUser", "ScriptedDeveloper"]
