"""tests/nbval_sanitize.cfg: every pair must be seen by nbval and must replace what it is meant to."""

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

CFG = Path(__file__).with_name("nbval_sanitize.cfg")


def sanitize(text):
    # The same loop nbval runs on every output string (IPyNbCell.sanitize).
    for regex, replace in get_sanitize_patterns(CFG.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def test_every_regex_line_is_parsed_by_nbval():
    # nbval silently ignores a pair with a missing space or an empty `replace:`; count them.
    lines = CFG.read_text(encoding="utf-8").splitlines()
    n_regex = sum(line.startswith("regex:") for line in lines)
    n_replace = sum(line.startswith("replace:") for line in lines)
    assert n_regex == n_replace == len(get_sanitize_patterns(CFG.read_text(encoding="utf-8"))) > 0


@pytest.mark.parametrize(
    "fresh, stored",
    [
        ("[<matplotlib.lines.Line2D at 0x7f3a2c1d5e10>]", "[<matplotlib.lines.Line2D at 0x7fe0aa01b2d0>]"),
        ("one Adam step took 1.23 s", "one Adam step took 0.9 s"),
        ("sweep took 850 ms, then took 12 µs", "sweep took 3 s, then took 7.5 μs"),
        (
            "100%|██████████| 50/50 [00:01<00:00, 31.72it/s]",
            "100%|██████████| 50/50 [00:02<00:00, 24.05it/s]",
        ),
        ("  0%|          | 0/10 [00:00<?, ?it/s]", "  0%|          | 0/10 [00:03<?, ?it/s]"),
        ("epoch 3: 2.51s/it", "epoch 3: 1.07s/it"),
        ("12.5 ms/it", "9 ms/it"),
    ],
)
def test_volatile_text_is_sanitized_to_the_same_string(fresh, stored):
    assert sanitize(fresh) == sanitize(stored)


@pytest.mark.parametrize(
    "text",
    [
        "loss = 0.1234 after 100 steps",  # numbers that are results, not timings
        "lr=1e-3, betas=(0.9, 0.999), eps=1e-08",
        "<Figure size 640x480 with 1 Axes>",  # figure sizes stay compared
        "10/10 steps",
    ],
)
def test_results_are_left_alone(text):
    assert sanitize(text) == text
