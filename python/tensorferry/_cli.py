"""The `tensorferry` command installed by the wheel: the same C++ program as build/tensorferry,
run in this process by the extension module."""
import sys

from . import _core


def main() -> None:
    sys.stdout.flush()
    sys.exit(_core.main(["tensorferry", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
