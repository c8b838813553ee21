import sys

from vafa.cli import main

sys.exit(main())
