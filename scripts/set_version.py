"""Set one version on every package and pin every sibling dependency `==` to it.

Usage: python scripts/set_version.py NEW_VERSION

Rewrite `version = "..."` in the [project] table of each packages/*/pyproject.toml
and every `django-db-connection-pool...==X` requirement, keeping the formatting,
then re-read the files and check them as `make check-dist` does.
"""

from __future__ import annotations

import re
import sys

from check_dist import ROOT, CheckFailed, check_versions, discover_packages

# A canonical PEP 440 public version: 2.0.0, 2.1.0rc1, 2.0.0.post1, 2.1.0.dev0, ...
VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
# The `version` key of the [project] table: no other table header may come before it.
PROJECT_VERSION = re.compile(r'(?m)(^\[project\]$(?:(?!^\[)[\s\S])*?^version\s*=\s*")[^"]*(")')


def set_version(text: str, names: list[str], version: str) -> str:
    """Return the pyproject text with the project version and sibling pins set to version."""
    text, count = PROJECT_VERSION.subn(rf"\g<1>{version}\g<2>", text, count=1)
    if count != 1:
        raise CheckFailed('no `version = "..."` in the [project] table')
    # A quoted sibling name (any of its PEP 503 spellings), optional extras, then `==` and
    # the version up to the next quote, marker or separator.
    sibling = "|".join("[-_.]+".join(map(re.escape, re.split(r"[-_.]+", n))) for n in names)
    pin = re.compile(rf"""(["']\s*(?:{sibling})\s*(?:\[[^\]]*\])?\s*==\s*)[^"';,\s]+""", re.I)
    return pin.sub(rf"\g<1>{version}", text)


def main(argv: list[str]) -> int:
    """Set argv[0] as the version of every package; return 2 on a bad argument."""
    if len(argv) != 1 or not VERSION.fullmatch(argv[0]):
        print("usage: set_version.py NEW_VERSION (2.0.0, 2.1.0rc1, ...)", file=sys.stderr)
        return 2
    version = argv[0]
    try:
        packages = discover_packages()
        names = [p.name for p in packages]
        paths = [ROOT / "packages" / p.folder / "pyproject.toml" for p in packages]
        # Rewrite every file in memory first so that a failure leaves none half-done.
        texts = {}
        for path in paths:
            try:
                texts[path] = set_version(path.read_text(), names, version)
            except CheckFailed as error:
                raise CheckFailed(f"{path.relative_to(ROOT)}: {error}") from None
        for package, path in zip(packages, paths, strict=True):
            path.write_text(texts[path])
            print(f"{path.relative_to(ROOT)}: {package.version} -> {version}")
        print(f"ok    versions: {check_versions(discover_packages())}")
    except CheckFailed as error:
        print(f"FAIL  versions: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
