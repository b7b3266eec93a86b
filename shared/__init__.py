"""Infrastructure shared by the three services: settings, database, messaging, HTTP plumbing.

Nothing in here knows one service's business rules; event contracts live in `contracts`.
"""
