"""The bundle's entry point: the same arguments as ``polystore-gui`` (GUI, subcommands, --version)."""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    os.environ.setdefault("QT_API", "pyqt6")
    from polystore_gui.__main__ import main

    sys.exit(main())
