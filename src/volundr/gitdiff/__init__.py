"""Read-only diffs of a git working copy (API §4.13), used by runtimes and the session host.

Nothing here writes to the workspace, its index or its object store: untracked files are
added (intent-to-add) to a temporary copy of the index (`GIT_INDEX_FILE`), and any object
git decides to write lands in a temporary object directory that borrows the repository's
objects as an alternate.
"""

from volundr.gitdiff.differ import WorkspaceDiffer

__all__ = ["WorkspaceDiffer"]
