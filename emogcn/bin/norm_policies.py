"""UA of finished experiments under each inference-time normalisation policy (which to package).

    python -m emogcn.bin.norm_policies [--policies global,utterance,batch:4,batch:16,speaker,none]
        [--checkpoint best|last|averaged] [--test-set test] [--seed 0] [--json out.json] <exp>...

Each <exp> is an experiment with fold<k>/ directories (exp/<variant>_<tag>_seed<s>; several seeds
of one family give mean ± std over them) or one fold. Run from the recipe directory after stage 5:
the test features are re-read from each fold's data and normalised under every policy (see
emogcn/inference/policy_eval.py). Prints a markdown table and the best policy that needs nothing
but the input (the candidate for `python -m emogcn.bin.package --norm-default`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.log import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-norm-policies", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", default="global,utterance,batch:4,batch:16,speaker,none")
    parser.add_argument("--checkpoint", choices=("best", "last", "averaged"), help="default: each config's")
    parser.add_argument("--test-set", default="test")
    parser.add_argument("--seed", type=int, default=0, help="seed of the batch:N groups")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("experiments", nargs="+", type=Path)
    args = parser.parse_args(argv)
    setup_logging()

    from emogcn.atomic import write_text
    from emogcn.config import ConfigError
    from emogcn.data.datadir import DataDirError
    from emogcn.inference import policy_eval as pe
    from emogcn.inference.normalise import POLICIES

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    for p in policies:
        base, _, size = p.partition(":")
        if base not in POLICIES or (base == "batch") != bool(size) or (size and not (size.isdigit() and int(size) > 0)):
            parser.error(f"policy '{p}' is not one of {', '.join(x for x in POLICIES if x != 'batch')} or batch:<N>")
    errors = (pe.PolicyEvalError, ConfigError, DataDirError, FileNotFoundError, ValueError)
    with ErrorExit("norm_policies", errors) as run:
        per_exp, classes_of = {}, {}
        for exp in args.experiments:
            per_exp[str(exp)] = pe.evaluate_experiment(exp, policies, args.checkpoint, args.test_set, seed=args.seed)
            classes_of[str(exp)] = (pe.fold_dirs(exp)[0] / "classes.txt").read_text(encoding="utf-8").split()
    if run.status:
        return run.status
    rows = pe.summary(per_exp, classes_of)
    sys.stdout.write(pe.markdown(rows))
    best = pe.best_input_only(rows)
    if best is not None:
        print(f"\nbest policy that needs nothing but the input: {best['policy']} (UA pooled {100 * best['ua_pooled']:.2f})"
              f"; package with --norm-default {best['policy']}")
    if args.json:
        write_text(args.json, json.dumps({"experiments": [str(e) for e in args.experiments], "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
