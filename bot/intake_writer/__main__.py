"""``python -m bot.intake_writer --fd N``: the writer child that serve starts.

``python -m bot.intake_writer loader --fd N --data-dir D``: the loader that the writer
starts in turn.
"""

import sys

from bot.intake_writer.protocol import LOADER_ARG

if sys.argv[1:2] == [LOADER_ARG]:
    from bot.intake_writer.loader import main as run_loader

    raise SystemExit(run_loader(sys.argv[2:]))

from bot.intake_writer.child import main

raise SystemExit(main())
