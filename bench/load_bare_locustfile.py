"""The reference for bench_load.py: the barest FastHttpUser (one fixed URL, no pause, nothing recorded)."""

from locust import FastHttpUser, task


class BareUser(FastHttpUser):
    @task
    def get(self):
        self.client.get("demo/log", name="log")
