"""HTTP adapter: routers, schemas, dependencies, and the one error handler."""
