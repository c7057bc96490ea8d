"""Instructor-only tools: NOT part of the student release.

* :mod:`.hidden`: one module per assignment with the reference implementations, known wrong
  variants, public case inputs and randomized hidden cases of its questions (``Grading`` records).
* :mod:`.release_manifest`: the allowlist of student-facing files (the release and the sandbox).
* :mod:`.build`: one source notebook -> ``exercises/`` and ``solutions/``; the student release.
* :mod:`.extract`, :mod:`.sandbox`, :mod:`.harness`, :mod:`.grader`: the batch grader
  (``python -m course_utils.grade``).
"""
