"""The conformance suite's assertions say what differed (it is imported by test modules)."""

import pytest

pytest.register_assert_rewrite("tests.model.backends.conformance")
