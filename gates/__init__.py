"""Quality gates: each gate is one module that turns a diff into findings."""
