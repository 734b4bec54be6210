"""What the pysnc scripts share: the Bearer auth deskgate takes, a client of the
gateway at DESKGATE_URL (trusting DESKGATE_CA), an insert of one incident (and a
report: the insert with the fields every reported incident has), and the check that
exits non-zero on a surprise. The client itself is used as it ships."""

import os
import sys

import requests
from pysnc import ServiceNowClient


class Bearer(requests.auth.AuthBase):
    """deskgate authenticates desks with a JWT Bearer token; pysnc takes any
    requests auth object, so the library itself is used as it ships."""

    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def client(token):
    return ServiceNowClient(os.environ["DESKGATE_URL"], Bearer(token), verify=os.environ["DESKGATE_CA"])


def check(condition, what):
    if not condition:
        print(f"unexpected: {what}", file=sys.stderr)
        sys.exit(1)


def insert(desk, **fields):
    """Insert an incident with `fields` through `desk`'s GlideRecord; its sys_id."""
    gr = desk.GlideRecord("incident")
    gr.initialize()
    for name, value in fields.items():
        setattr(gr, name, value)
    return gr.insert()


def report(desk, correlation_id, short_description, business_service, impact, urgency, **more):
    """Insert an incident reported at `desk`, with `more` fields beside the ones every
    report has; its sys_id, exiting non-zero when the insert gave none."""
    sys_id = insert(
        desk,
        short_description=short_description,
        business_service=business_service,
        impact=impact,
        urgency=urgency,
        correlation_id=correlation_id,
        **more,
    )
    check(sys_id is not None, f"insert of {correlation_id} returned no sys_id")
    return str(sys_id)
