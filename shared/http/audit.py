"""The HTTP side of what every service reports for the auditor: the schema of its event counts and
the query of its ops-only listings' keyset pages (`GET /v1/internal/...?cursor=`); the reads
themselves are shared.db.reads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.fields import identifier


class EventCountsSchema(Schema):
    """Per topic: events written to this service's outbox, published, and applied by its consumer."""

    events_written = fields.Dict(keys=fields.String(), values=fields.Integer())
    events_published = fields.Dict(keys=fields.String(), values=fields.Integer())
    events_applied = fields.Dict(keys=fields.String(), values=fields.Integer())


class AuditPageQuery(Schema):
    """A page of an ops-only listing: `cursor` is the last id of the page before."""

    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=1000))
    cursor = identifier(load_default=None)  # every listing's key is an id: no NUL, no byte a database refuses
