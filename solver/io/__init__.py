"""Input and output at the edges: scenario files, batch CSVs (streamed, resumable, over a process pool
or Ray), what-if variants, and the HTML reports.  Depends on solver.plan and below; the CLI
(solver.cli) renders what these return."""
