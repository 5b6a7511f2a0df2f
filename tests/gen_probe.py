"""`python -m tests.gen_probe MODE PROCESS OUT`: one generation with fixtures/writer.py instrumented, in an
interpreter of its own (the writer forks its filelog process only where no other thread runs, and a test worker
has threads of other tests), printing what happened as JSON.

MODE direct: small batches and a low revision bound (splits, filelogs refused to Mercurial), counting splits,
Mercurial writes, the filelog child's replies and the chain processes started. MODE disk-full: every direct
append fails with ENOSPC; MODE chain-broken: building the 300th changeset fails with EIO; for both, the error's
type and text, and what stayed (the generator's threads, any child process). PROCESS: 1 for the filelog and
chain processes (the default), 0 for the writer and chain threads."""

import json
import sys
import threading


def main(mode: str, process: str, out: str) -> None:
    import psutil

    import hgharness.fixtures.revlogs as R
    import hgharness.fixtures.writer as W
    from hgharness.fixtures.generate import generate

    W.FILELOG_PROCESS = W.CHAIN_PROCESS = process == "1"
    calls = {"split": 0, "mercurial": 0, "replies": 0, "chain_process": 0}
    started = W.ChainProcess.__init__

    def chain_process(self, *a, **k):
        calls["chain_process"] += 1
        return started(self, *a, **k)

    W.ChainProcess.__init__ = chain_process
    result: dict = {"calls": calls}
    if mode == "direct":
        W.HAND_OFF_COMMITS = 7
        R.InlineFilelogAppender.MAX_REVISIONS = 40
        for name, cls, attr in (("split", R.InlineFilelogAppender, "_split"),
                                ("mercurial", W.Writer, "_write_with_mercurial")):
            orig = getattr(cls, attr)

            def counted(*a, _orig=orig, _name=name, **k):
                calls[_name] += 1  # in this process: the writer threads' splits, the parent's Mercurial writes
                return _orig(*a, **k)

            setattr(cls, attr, counted)
        replied = W.Writer._replied

        def replayed(self, batch, events, refused, error):  # the child's splits, told to the transaction
            calls["split"] += sum(1 for e in events if e[0] == "backup")
            calls["replies"] += 1
            return replied(self, batch, events, refused, error)

        W.Writer._replied = replayed
        result["tip"] = generate("medium", 700, 5, out)["tip"]
    else:
        def disk_full(self, path, entries, tr):
            raise OSError(28, "No space left on device")

        built = W.DirectSink.changeset

        def failing(self, *a, **k):  # in the chain process or the chain thread
            if self.direct.changelog.count >= 300:
                raise OSError(5, "Input/output error")
            return built(self, *a, **k)

        if mode == "disk-full":
            R.InlineFilelogAppender._write = disk_full
        else:
            W.DirectSink.changeset = failing
        try:
            generate("medium", 800, 1, out)
        except OSError as e:
            result["error"] = f"{type(e).__name__}: {e}"
        result["threads"] = [t.name for t in threading.enumerate() if t.name.startswith("hgharness-")]
        result["children"] = [p.pid for p in psutil.Process().children(recursive=True)]
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
