"""Infrastructure shared by the three services: settings, database, messaging, HTTP plumbing.

Nothing in here knows one service's business rules; event contracts live in `contracts`.
"""

__version__ = "1.1.0"  # the one version: package, OpenAPI documents, images, manifests
