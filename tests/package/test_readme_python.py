"""The README's Python examples (its ```pycon blocks) run as written and print what the README
shows: each block is a doctest, run in order in one namespace, in a scratch folder where
`examples/` is the bundled examples folder (as tests/python/cross/test_readme_examples.py does
for the `$ tensorferry` lines)."""
import doctest
import os
import re

from conftest import ROOT


def readme_python_blocks():
    return re.findall(r"^```pycon\n(.*?)^```", (ROOT / "README.md").read_text(),
                      flags=re.S | re.M)


def test_readme_has_python_examples():
    text = "".join(readme_python_blocks())
    for call in ("tensorferry.open(", "tensorferry.convert(", "tensorferry.verify(",
                 "tensorferry.diff(", "except tensorferry.BadInputError"):
        assert call in text, call


def test_readme_python_examples_print_what_the_readme_shows(tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    namespace = {}
    for number, block in enumerate(readme_python_blocks()):
        test = parser.get_doctest(block, namespace, f"README pycon block {number}", "README.md", 0)
        runner.run(test, clear_globs=False)
    results = runner.summarize(verbose=False)
    assert results.attempted > 5 and results.failed == 0, results
