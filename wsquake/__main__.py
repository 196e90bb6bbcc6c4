import sys

from wsquake.cli import main

sys.exit(main())
