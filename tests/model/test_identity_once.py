"""resolve_identity: calls made while one for the same options is under way share its
answer (or its error); a later call resolves again."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from polystore_gui.model import remote_access
from polystore_gui.model.remote_access import CredentialsError, Identity, RemoteOptions


def _callers(n: int, options: RemoteOptions) -> tuple[list[threading.Thread], list[object]]:
    results: list[object] = []

    def call() -> None:
        try:
            results.append(remote_access.resolve_identity(options))
        except CredentialsError as exc:
            results.append(exc)

    threads = [threading.Thread(target=call) for _ in range(n)]
    return threads, results


class _Waiters:
    """How many calls wait for another's resolution (``Future.result`` entered)."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def future_class(self) -> type:
        waiters = self

        class CountingFuture(Future):
            def result(self, timeout=None):
                with waiters.changed:
                    waiters.count += 1
                    waiters.changed.notify_all()
                return super().result(timeout)

        return CountingFuture


def _gated_resolver(monkeypatch, outcome):
    """A stand-in for botocore's resolution that waits for ``gate`` and counts its calls;
    the calls that wait for it are counted in ``gate.waiters``."""
    gate, entered, calls = threading.Event(), threading.Event(), []
    gate.waiters = _Waiters()
    monkeypatch.setattr(remote_access, "Future", gate.waiters.future_class())

    def resolve(options: RemoteOptions) -> Identity:
        calls.append(options)
        entered.set()
        assert gate.wait(10)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(remote_access, "_resolve_identity", resolve)
    return gate, entered, calls


def _run_together(threads: list[threading.Thread], gate: threading.Event, entered: threading.Event) -> None:
    threads[0].start()
    assert entered.wait(10)  # the first call is resolving: the others arrive meanwhile
    for thread in threads[1:]:
        thread.start()
    with gate.waiters.changed:  # every other call waits for the first's answer before it comes
        assert gate.waiters.changed.wait_for(lambda: gate.waiters.count == len(threads) - 1, 10)
    gate.set()
    for thread in threads:
        thread.join(10)


def test_calls_under_way_share_one_resolution_and_a_later_call_resolves_again(monkeypatch):
    identity = Identity("access key AKIA…", False, "AKIAXXXX", "secret", region="eu-west-1")
    gate, entered, calls = _gated_resolver(monkeypatch, identity)
    options = RemoteOptions(endpoint_url="http://127.0.0.1:9")
    threads, results = _callers(4, options)
    _run_together(threads, gate, entered)
    assert results == [identity] * 4
    assert len(calls) == 1  # one botocore session for the four
    assert remote_access.resolve_identity(options) is identity
    assert len(calls) == 2  # after it ended: resolved afresh
    assert not remote_access._resolving


def test_an_error_reaches_every_call_that_waited_for_it(monkeypatch):
    gate, entered, calls = _gated_resolver(monkeypatch, CredentialsError("AWS profile 'nope' is not in ~/.aws/config"))
    threads, results = _callers(3, RemoteOptions(profile="nope"))
    _run_together(threads, gate, entered)
    assert len(results) == 3 and all(isinstance(r, CredentialsError) for r in results)
    assert len(calls) == 1
    assert not remote_access._resolving
    with pytest.raises(CredentialsError):
        remote_access.resolve_identity(RemoteOptions(profile="nope"))
    assert len(calls) == 2
