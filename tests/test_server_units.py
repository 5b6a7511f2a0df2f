"""ManagedServer, the part the embedded servers share, with a plain Python HTTP server as the subclass."""

import sys

import psutil
import pytest
import requests

from hgharness.errors import HarnessError
from hgharness.server import ManagedServer


class StaticServer(ManagedServer):
    what, process_name = "static server", "python"

    def __init__(self, workdir=None, port=0, code=None):
        super().__init__(workdir, port=port)
        self.code = code  # a program to run instead of the HTTP server
        self.stderr_log = self.workdir / "stderr.log"

    def argv(self):
        if self.code:
            return [sys.executable, "-c", self.code]
        return [sys.executable, "-m", "http.server", "--bind", self.host, "--directory", str(self.workdir),
                str(self.port)]

    def _start(self, timeout):
        self.launch(timeout, retry_port=self.choose_port())


def test_a_temp_workdir_lives_until_stop_and_no_process_stays():
    with StaticServer() as server:
        workdir, pids = server.workdir, server.pids()
        assert workdir.is_dir() and server.alive() and pids
        assert requests.get(server.url, timeout=10).status_code == 200
    assert not workdir.exists() and not server.alive()
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_a_server_that_exits_fails_in_one_line_naming_its_last_words(tmp_path):
    server = StaticServer(tmp_path, port=1, code="import sys; sys.exit('cannot open the database')")
    with pytest.raises(HarnessError) as e:
        server.start(timeout=30)
    assert str(e.value) == "static server did not start at http://127.0.0.1:1/: cannot open the database"
    assert tmp_path.is_dir()  # a given workdir is the caller's: its logs stay for the reader
    server.stop()
    assert tmp_path.is_dir()
