"""Attach a file to an incident with the unmodified pysnc client, list it and read
it back, through deskgate's ServiceNow Attachment API.

Environment: DESKGATE_URL, DESKGATE_CA, DESKGATE_LOCAL_TOKEN (a ServiceNow local
desk's JWT). Prints one JSON object with what the client saw.
"""

import json
import os
import sys

import requests
from pysnc import ServiceNowClient


class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def check(condition, what):
    if not condition:
        print(f"unexpected: {what}", file=sys.stderr)
        sys.exit(1)


local = ServiceNowClient(os.environ["DESKGATE_URL"], Bearer(os.environ["DESKGATE_LOCAL_TOKEN"]),
                         verify=os.environ["DESKGATE_CA"])

gr = local.GlideRecord("incident")
gr.initialize()
gr.short_description = "FMK: the prescription view is blank (pysnc attachment)"
gr.description = "A screenshot of the client follows."
gr.business_service = "FMK"
gr.impact = "2"
gr.urgency = "2"
gr.correlation_id = "PYSNC-ATT-1"
sys_id = str(gr.insert())

record = local.GlideRecord("incident")
check(record.get(sys_id), f"get({sys_id}) found nothing")
content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
location = record.add_attachment("blank-view.png", content, content_type="image/png")

attachments = record.get_attachments()
names = []
read_back = None
for a in attachments:
    names.append(a.file_name)
    read_back = a.read()
check(read_back == content, "the content read back differs")

print(json.dumps({
    "incident": record.get_value("u_deskgate_incident"),
    "location": location,
    "names": names,
    "size": len(read_back or b""),
}))
