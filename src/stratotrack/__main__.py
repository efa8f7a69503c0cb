"""``python -m stratotrack``: the same command line as ``stratotrack``."""

from stratotrack.cli import main

if __name__ == "__main__":
    main()
