import sys

from tffnoise.cli import main

sys.exit(main())
