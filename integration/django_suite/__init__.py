"""Django's own test suite through the pooled backends, as a conformance gate.

    python -m integration.django_suite --engine postgresql [modules ...]

runs Django's tests (from the sdist of the installed Django) twice against the
same server, once with Django's stock ENGINE and once with ours, and fails on
any test that passes with the stock backend but not with the pooled one
(a regression), unless allowlist.toml names it. See README.md.
"""
