"""Executors: what does a task's work in its worktree (built-in agents, a command, a model)."""
