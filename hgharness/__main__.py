import sys

from hgharness.cli import main

sys.exit(main())
