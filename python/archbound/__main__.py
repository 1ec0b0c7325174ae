"""`python -m archbound`: the command line (see archbound.cli)."""

from archbound.cli import main

if __name__ == "__main__":
    main()
