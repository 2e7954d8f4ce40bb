import sys

from maa.cli import main

sys.exit(main())
