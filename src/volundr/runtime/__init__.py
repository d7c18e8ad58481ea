"""Runtime adapters (`volundr.ports.Runtime`): `local` (process groups) and `fake` (tests)."""
