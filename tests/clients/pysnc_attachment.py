"""Attach a file to an incident with the unmodified pysnc client, list it and read
it back, through deskgate's ServiceNow Attachment API.

Environment: DESKGATE_URL, DESKGATE_CA, DESKGATE_LOCAL_TOKEN (a ServiceNow local
desk's JWT). Prints one JSON object with what the client saw.
"""

import json
import os

from pysnc_common import check, client, report

local = client(os.environ["DESKGATE_LOCAL_TOKEN"])

sys_id = report(
    local,
    "PYSNC-ATT-1",
    "FMK: the prescription view is blank (pysnc attachment)",
    "FMK",
    impact="2",
    urgency="2",
    description="A screenshot of the client follows.",
)

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
