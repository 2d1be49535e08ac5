"""The frozen app's entry point: the same ``main()`` as the ``voicestudio`` command.

With no command it opens the workstation; ``voicestudio-cli selftest`` (or any command)
runs the command line.
"""

import multiprocessing
import sys

from voicestudio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless unless a worker process is ever started
    sys.exit(main())
