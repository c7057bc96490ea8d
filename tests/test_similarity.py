"""Normalization for the similarity report: names, comments, docstrings and layout do not matter; code does."""

from course_utils.instructor import similarity

SOLUTION = '''
import numpy as np

def debiased_ema(xs, beta):
    """Bias-corrected EMAs."""
    avg = np.zeros_like(np.asarray(xs[0], dtype=float))
    out = []
    for t, x in enumerate(xs, start=1):
        avg = beta * avg + (1 - beta) * x
        out.append(avg / (1 - beta**t))
    return np.stack(out)
'''

DISGUISED = """
import numpy as numpy_lib   # renamed alias
def debiased_ema(values, b):
    # keep a running average
    running = numpy_lib.zeros_like(numpy_lib.asarray(values[0], dtype=float))
    result = []
    for step, v in enumerate(values, start=1):
        running = (b * running
                   + (1 - b) * v)   # layout changed
        result.append(running / (1 - b ** step))
    return numpy_lib.stack(result)
"""

DIFFERENT = """
import numpy as np

def debiased_ema(xs, beta):
    xs = np.asarray(xs, dtype=float)
    weights = (1 - beta) * beta ** np.arange(len(xs))[::-1]
    return np.array([np.tensordot(weights[-(t + 1):], xs[: t + 1], axes=1) / (1 - beta ** (t + 1))
                     for t in range(len(xs))])
"""


def test_names_comments_docstrings_and_layout_do_not_count():
    assert similarity.normalize(SOLUTION) == similarity.normalize(DISGUISED)
    assert "Bias-corrected" not in " ".join(similarity.normalize(SOLUTION))


def test_a_different_algorithm_is_not_similar():
    a, b = (similarity.shingles(similarity.normalize(c)) for c in (SOLUTION, DIFFERENT))
    assert similarity.jaccard(a, b) < 0.3


def test_helpers_have_their_own_numbering():
    helper_first = "def helper(p, q):\n    return p\n\ndef f(x):\n    y = helper(x, x)\n    return y\n"
    other_names = "def aux(first, second):\n    return first\n\ndef f(a):\n    b = aux(a, a)\n    return b\n"
    assert similarity.normalize(helper_first) == similarity.normalize(other_names)


def test_library_names_stay():
    assert "sqrt" in similarity.normalize("import numpy as np\ndef f(x):\n    return np.sqrt(x)\n")


def test_hostile_code_gives_nothing_instead_of_an_error():
    assert similarity.normalize("def f(:\n") == []
    assert similarity.normalize("x = " + "(" * 100_000 + ")" * 100_000) == []
