"""The wav.scp pipes of perturbed copies, one template per kind: written by
emogcn.data.datadir.perturb_data_dir and read back by emogcn.features.audio.decode_audio, which
computes them in its own process instead of starting Python once per utterance."""

from __future__ import annotations

import shlex

# kind: the pipe's command ({seed} draws the noise or room; speed needs none)
COPY_PIPES = {
    "speed": "python -m emogcn.bin.perturb_speed audio {value:g} {spec}",
    "noise": "python -m emogcn.bin.corrupt_audio audio noise {value:g} {seed} {spec}",
    "reverb": "python -m emogcn.bin.corrupt_audio audio reverb {value:g} {seed} {spec}",
}
_FIELDS = {kind: template.split() for kind, template in COPY_PIPES.items()}  # what parse_copy_pipe matches


def copy_pipe(kind: str, value: float, seed: int, spec: str) -> str:
    """The wav.scp value of a `kind` copy of wav.scp value `spec` (with its trailing `|`)."""
    return COPY_PIPES[kind].format(value=value, seed=seed, spec=shlex.quote(spec)) + " |"


def parse_copy_pipe(command: str) -> tuple[str, float, int | None, str] | None:
    """(kind, value, seed, source spec) of a copy_pipe command (without its `|`), read back through
    the same templates, or None for any other command; seed is None for speed."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        return None
    for kind, fields in _FIELDS.items():
        if len(fields) != len(tokens):
            continue
        got = {}
        for want, token in zip(fields, tokens):
            if want.startswith("{"):
                got[want.strip("{}").split(":")[0]] = token
            elif want != token:
                break
        else:
            try:
                return kind, float(got["value"]), int(got["seed"]) if "seed" in got else None, got["spec"]
            except ValueError:  # not numbers: the command reports it as it runs
                return None
    return None
