"""The ``shm`` command-line tool, installed with the package (``shm --help``).

The tool itself is Rust (the same as ``cargo install --path cli``); this runs it in-process.
"""

import sys

from ._shm_pub_sub import _cli_main


def main() -> None:
    """Entry point of the ``shm`` console script."""
    raise SystemExit(_cli_main(["shm", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
