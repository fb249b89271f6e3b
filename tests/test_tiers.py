"""The test tiers of tests/conftest.py: every file and test its lists name exists, so that a renamed
slow test cannot slip back into the unit tier unnoticed."""

from __future__ import annotations

import re

import conftest


def test_every_listed_file_and_test_exists():
    for rel in sorted(set(conftest.CORPUS_FILES) | set(conftest.RECIPE_FILES)):
        assert (conftest.TESTS / rel).is_file(), f"tests/conftest.py lists {rel}, which does not exist"
    for node in sorted(conftest.RECIPE_TESTS):
        rel, _, name = node.partition("::")
        text = (conftest.TESTS / rel).read_text(encoding="utf-8")
        assert re.search(rf"^def {re.escape(name)}\(", text, re.M), f"tests/conftest.py lists {node}, which does not exist"


def test_tier_rule():
    assert conftest.tier_of("test_recipe_new.py") == "recipe"
    assert conftest.tier_of("test_recipe_emodb.py") == "corpus"
    assert conftest.tier_of("faults/test_kill_soak.py") == "recipe"
    assert conftest.tier_of("test_graph.py", "test_build_graph_sh") == "recipe"
    assert conftest.tier_of("test_graph.py", "test_embedding_graph") == "unit"
    assert conftest.tier_of("test_something_new.py", "test_x") == "unit"
