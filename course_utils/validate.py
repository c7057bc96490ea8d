"""Check a notebook before submitting it: ``python -m course_utils.validate NOTEBOOK.ipynb``.

Shows what the grader will read from the notebook (each graded function and the top-level code it
brings along), and runs the public checks on exactly that code. See
:mod:`course_utils.grading.validation`; in a notebook, call ``validate()``.
"""

import sys

from course_utils.grading.validation import main

if __name__ == "__main__":
    sys.exit(main())
