"""``python -m bot.intake_writer --fd N``: the writer child that serve starts."""

from bot.intake_writer.child import main

raise SystemExit(main())
