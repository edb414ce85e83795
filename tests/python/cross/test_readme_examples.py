"""Issue 12 item 15: the README's examples are exactly what the commands print. Every
`$ tensorferry ...` line of a README code block runs, in order, in one scratch folder where
`examples/` is the bundled examples folder; the lines after it up to the next `$` line or the
block's end must be its stdout (then its stderr), where a line `...` stands for one or more lines
left out."""
import os
import re
import shlex
import subprocess

from conftest import BIN, ROOT

README = ROOT / "README.md"


def readme_examples():
    """[(command words, expected text)] in README order."""
    examples, block, in_block = [], None, False
    for line in README.read_text().split("\n"):
        if line.startswith("```"):
            in_block = not in_block
            block = None
            continue
        if not in_block:
            continue
        if line.startswith("$ tensorferry "):
            block = (shlex.split(line[2:], comments=True), [])
            examples.append(block)
        elif line.startswith("$ "):
            block = None
        elif block is not None:
            block[1].append(line)
    return [(words, "".join(l + "\n" for l in lines)) for words, lines in examples]


def matches(expected, actual):
    pattern = "".join("(?:[^\n]*\n)+" if line == "..." else re.escape(line) + "\n"
                      for line in expected.split("\n")[:-1])
    return re.fullmatch(pattern, actual) is not None


def test_readme_has_examples_of_every_command():
    commands = {words[1] for words, _ in readme_examples()}
    assert {"inspect", "convert", "verify", "diff"} <= commands, commands


def test_readme_examples_print_what_the_readme_shows(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for words, expected in readme_examples():
        proc = subprocess.run([str(BIN), *words[1:]], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        shown = " ".join(words)
        assert proc.returncode in (0, 1, 2, 3), f"$ {shown}: exit {proc.returncode}"
        actual = proc.stdout + proc.stderr
        assert matches(expected, actual), f"$ {shown}\n--- README:\n{expected}--- printed:\n{actual}"
