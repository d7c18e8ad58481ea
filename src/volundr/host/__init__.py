"""The session host: one process per session that prepares the workspace, runs the agent,
logs its output, reports to the API and serves /health (DESIGN §1).

Run as `python -m volundr.host`; modules: `spec` (launch spec), `workspace` and `git`
(clone/checkout), `agent` (argv, env, output capture), `logwriter` (JSON-lines log),
`server` (HTTP), `reporter` (callbacks), `procs` (subreaper, tree kill), `supervisor`.
"""
