"""Writes that must land together hold a Ctrl-C until they are done (a real SIGINT)."""

from __future__ import annotations

import os
import signal

import pytest

from hpatch import interrupt


def test_a_ctrl_c_inside_held_waits_for_the_block_then_interrupts() -> None:
    done = []
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), interrupt.held():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("first write")
        done.append("second write")
    assert done == ["first write", "second write"]
    assert signal.getsignal(signal.SIGINT) is before


def test_held_without_a_ctrl_c_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interrupt.held():
        pass
    assert signal.getsignal(signal.SIGINT) is before
