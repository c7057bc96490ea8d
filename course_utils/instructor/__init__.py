"""Instructor-only tools: NOT part of the student release.

* :mod:`.hidden`: reference implementations, known wrong variants, public case inputs and the
  randomized hidden cases of every question.
* :mod:`.build`: one source notebook -> ``exercises/`` and ``solutions/``; the student release.
* :mod:`.extract`, :mod:`.sandbox`, :mod:`.harness`, :mod:`.grader`: the batch grader
  (``python -m course_utils.grade``).
"""
