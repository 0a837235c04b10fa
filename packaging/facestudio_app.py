"""The PyInstaller build's entry point: the same commands as ``facestudio`` on the command line."""

import sys

from facestudio.commands.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
