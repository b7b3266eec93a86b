"""The HTTP edge every service's web app shares: the app's one wiring object (the service's
container) as the edge reaches it, a route's one declaration (method and path, permission,
documentation, Idempotency-Key), what happens to every request and how views read its input
(`app`), the app factory (`factory`), problem+json refusals (`problems`), the OpenAPI documents
(`openapi`), the open probe and metrics routes (`ops_views`), the schemas of the auditor's
figures and listings (`audit`), start-up checks of the access wiring (`guard`), and gunicorn's
settings, logs and worker (`gunicorn_conf`, `gunicorn_logging`, `gunicorn_worker`: requests read
whole under deadlines before a thread serves them).

May import: the core modules, `observability`, `auth`, `db`, `runtime` and `shared.settings`.
"""
