"""A short randomised kill soak (tests/faults/kill_soak.py; the N = 50 run is in docs/FAULTS.md):
three SIGKILLs at random moments of the mini recipe's stages 1-5, each followed by the same
command, end in outputs identical to an uninterrupted run."""

from __future__ import annotations

import pytest

import kill_soak


@pytest.mark.slow
def test_three_random_kills_end_in_the_uninterrupted_outputs(tmp_path, capsys):
    rc = kill_soak.main(["--kills", "3", "--per-cycle", "3", "--utts", "3", "--epochs", "2", "--seed", "1",
                         "--workdir", str(tmp_path)])
    report = capsys.readouterr().out
    assert rc == 0, report
    assert report.startswith("Kill soak: 3 SIGKILLs in ")
    assert "cycles ended with outputs identical to the uninterrupted run" in report
    assert "0 restarted command(s) failed" in report
