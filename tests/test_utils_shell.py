"""utils/ as a Kaldi user calls them: parse_options.sh, run.pl and the data-directory scripts."""

from __future__ import annotations

import re

from conftest import make_data_dir, run_sh, write_lines
from emogcn.data import datadir as dd

SCRIPT = """
stage=0
nj=4
use_gpu=false
train_set=train
help_message="usage: demo"
. utils/parse_options.sh
echo "stage=$stage nj=$nj use_gpu=$use_gpu train_set=$train_set rest=$*"
"""


def _demo(recipe_dir, args: str, check=True):
    (recipe_dir / "demo.sh").write_text(SCRIPT)
    return run_sh(f"bash demo.sh {args}", recipe_dir, check=check)


def test_parse_options_sets_variables(recipe_dir):
    out = _demo(recipe_dir, "--stage 3 --train-set dev_clean --use-gpu true a b").stdout
    assert out.strip() == "stage=3 nj=4 use_gpu=true train_set=dev_clean rest=a b"


def test_parse_options_rejects_unknown_option(recipe_dir):
    p = _demo(recipe_dir, "--stgae 3", check=False)
    assert p.returncode != 0
    assert "unknown option '--stgae'" in p.stderr


def test_parse_options_boolean_and_missing_value(recipe_dir):
    p = _demo(recipe_dir, "--use-gpu yes", check=False)
    assert p.returncode != 0 and "takes true or false" in p.stderr
    p = _demo(recipe_dir, "--nj", check=False)
    assert p.returncode != 0 and "needs a value" in p.stderr


def test_parse_options_config_file(recipe_dir):
    (recipe_dir / "my.conf").write_text("nj=8\nstage=2\n")
    out = _demo(recipe_dir, "--config my.conf --stage 5").stdout
    assert "stage=5 nj=8" in out


def test_parse_options_help(recipe_dir):
    p = _demo(recipe_dir, "--help")
    assert "usage: demo" in p.stderr


def test_run_pl_job_array_and_logs(recipe_dir):
    run_sh("utils/run.pl --max-jobs-run 2 JOB=1:3 exp/log/t.JOB.log echo job JOB", recipe_dir)
    for j in (1, 2, 3):
        log = (recipe_dir / f"exp/log/t.{j}.log").read_text()
        assert f"# echo job {j}" in log
        assert f"\njob {j}\n" in log
        assert "# Started at" in log and "# Ended (code 0)" in log


def test_run_pl_pipes_and_failures_named(recipe_dir):
    run_sh('utils/run.pl exp/log/p.log echo abc "|" tr a-z A-Z', recipe_dir)
    assert "ABC" in (recipe_dir / "exp/log/p.log").read_text()
    p = run_sh("utils/run.pl JOB=1:3 exp/log/f.JOB.log test JOB -ne 2", recipe_dir, check=False)
    assert p.returncode != 0
    assert "1 / 3 jobs failed" in p.stderr and "exp/log/f.2.log" in p.stderr
    assert "# Ended (code 1)" in (recipe_dir / "exp/log/f.2.log").read_text()


def test_run_pl_runs_jobs_in_parallel(recipe_dir):
    # Two jobs that each wait for the other's file can only finish if they run at the same time.
    cmd = "utils/run.pl JOB=1:2 exp/log/w.JOB.log bash -c " \
          "'touch exp/flag.JOB; for i in $(seq 50); do [ -e exp/flag.1 ] && [ -e exp/flag.2 ] && exit 0; sleep 0.1; done; exit 1'"
    run_sh(cmd, recipe_dir)


def test_validate_script_names_file_and_line(recipe_dir):
    d = make_data_dir(recipe_dir / "data" / "x", {"s1": 3})
    lines = (d / "utt2emo").read_text().splitlines()
    write_lines(d / "utt2emo", [lines[0], lines[2], lines[1]])
    p = run_sh("utils/validate_data_dir.sh data/x", recipe_dir, check=False)
    assert p.returncode == 1
    assert re.search(r"data/x/utt2emo:3: not sorted", p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1  # one clear line, no traceback


def test_fix_and_subset_scripts(recipe_dir):
    d = make_data_dir(recipe_dir / "data" / "x", {"s1": 3, "s2": 2})
    write_lines(d / "wav.scp", (d / "wav.scp").read_text().splitlines()[1:])
    p = run_sh("utils/fix_data_dir.sh data/x", recipe_dir)
    assert "kept 4 of 5 utterances" in p.stderr
    run_sh("utils/validate_data_dir.sh data/x", recipe_dir)
    write_lines(recipe_dir / "spk.list", ["s2"])
    run_sh("utils/subset_data_dir.sh --spk-list spk.list data/x data/y", recipe_dir)
    assert set(dd.read_map(recipe_dir / "data/y/utt2emo")) == {"s2-u000", "s2-u001"}
    run_sh("utils/subset_data_dir.sh --first 2 data/x data/z", recipe_dir)
    assert len(dd.read_map(recipe_dir / "data/z/utt2spk")) == 2


def test_split_combine_filter_spk2utt_scripts(recipe_dir):
    make_data_dir(recipe_dir / "data" / "x", {"s1": 3, "s2": 2, "s3": 2})
    out = run_sh("utils/split_data.sh data/x 2", recipe_dir).stdout.split()
    assert out == ["data/x/split2/1", "data/x/split2/2"]
    run_sh("utils/combine_data.sh data/c data/x/split2/1 data/x/split2/2", recipe_dir)
    assert (recipe_dir / "data/c/utt2emo").read_text() == (recipe_dir / "data/x/utt2emo").read_text()
    write_lines(recipe_dir / "ids", ["s1-u001", "s3-u000"])
    out = run_sh("utils/filter_scp.pl ids data/x/utt2emo", recipe_dir).stdout
    assert [line.split()[0] for line in out.splitlines()] == ["s1-u001", "s3-u000"]
    out = run_sh("utils/utt2spk_to_spk2utt.pl data/x/utt2spk", recipe_dir).stdout
    assert out == (recipe_dir / "data/x/spk2utt").read_text()
