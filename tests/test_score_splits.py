"""steps/score_splits.sh (stage 5) and steps/train_splits.sh: --nj jobs at once through the pool of
steps/lib.sh, every failure counted and named. Real scoring through it is exercised by the recipe
tests (test_recipe_mini: --train-nj 2)."""

from __future__ import annotations

import re

from conftest import run_sh


def test_score_splits_rejects_a_bad_nj_in_one_line(recipe_dir):
    p = run_sh("steps/score_splits.sh --nj 0 data exp fold1", recipe_dir, check=False)
    assert p.returncode != 0
    assert "--nj must be a positive integer, not '0'" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_score_splits_in_parallel_tries_every_model_and_counts_the_failures(recipe_dir):
    # four models, none trained: each is attempted (two at a time) and named; one summary line
    p = run_sh("steps/score_splits.sh --nj 2 --seeds '0 1' --variants single_task --tag t data exp fold1 fold2 "
               "&& echo SHOULD-NOT-PASS", recipe_dir, check=False)
    assert p.returncode != 0 and "SHOULD-NOT-PASS" not in p.stdout
    named = set(re.findall(r"exp/single_task_t_seed(\d)/(fold\d) has not finished training", p.stderr))
    assert named == {("0", "fold1"), ("0", "fold2"), ("1", "fold1"), ("1", "fold2")}
    assert "4 model(s) could not be scored" in p.stderr


def test_train_splits_shares_the_pool_and_counts_every_failed_training(recipe_dir):
    # the same pool (steps/lib.sh pool_throttle/pool_drain): four trainings without a graph, two at once
    (recipe_dir / "c.yaml").write_text("model: {variant: single_task, backbone: mlp}\n")
    p = run_sh("steps/train_splits.sh --train-nj 2 --seeds '0 1' --variants single_task c.yaml data graph exp "
               "fold1 fold2", recipe_dir, check=False)
    assert p.returncode != 0
    assert p.stderr.count("graph/fold1/.done not found") == 2 and p.stderr.count("graph/fold2/.done not found") == 2
    assert "4 training run(s) failed" in p.stderr
