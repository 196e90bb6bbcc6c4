import sys

from wsquake.faults.proxy.cli import main

sys.exit(main())
