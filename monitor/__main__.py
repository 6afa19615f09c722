"""``python -m monitor`` runs the command line."""

import signal
import sys

if "run" in sys.argv[1:]:
    # A daemon stopped while it is still importing must exit cleanly, not die by the signal.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

from monitor.cli import main  # noqa: E402 - after the signal handler, on purpose

raise SystemExit(main())
