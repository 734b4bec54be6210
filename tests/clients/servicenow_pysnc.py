"""Drive deskgate's ServiceNow Table API with the unmodified pysnc client.

Environment: DESKGATE_URL (https://…), DESKGATE_CA (PEM of the CA that signed the
gateway's certificate), DESKGATE_LOCAL_TOKEN (a ServiceNow local desk's JWT),
DESKGATE_NATIONAL_TOKEN (the national desk's JWT; it speaks ServiceNow too).
Prints one JSON object with what the client saw; exits non-zero on any surprise.
"""

import json
import os

import requests
from pysnc_common import Bearer, check, client, report

local = client(os.environ["DESKGATE_LOCAL_TOKEN"])
national = client(os.environ["DESKGATE_NATIONAL_TOKEN"])

# insert
sys_id = report(
    local,
    "PYSNC-0001",
    "FMK: prescriptions cannot be read (pysnc)",
    "FMK",
    impact="1",
    urgency="2",
    description="Since 01:40 no prescriptions are shown in the FMK client.",
    comments="Reported by ward 4",
)

# get
fetched = local.GlideRecord("incident")
check(fetched.get(sys_id), f"get({sys_id}) found nothing")
number = fetched.get_value("number")
check(number.startswith("INC"), f"number {number}")
check(fetched.get_display_value("state") == "New", f"state display {fetched.get_display_value('state')}")
check(fetched.get_value("priority") == "2", f"priority {fetched.get_value('priority')}")

# a second incident, so that the query has something to leave out
report(local, "PYSNC-0002", "NSP: slow login (pysnc)", "NSP", impact="3", urgency="3")

# query
query = local.GlideRecord("incident")
query.add_query("business_service", "FMK")
query.add_query("short_description", "LIKE", "pysnc")
query.add_query("priority", "IN", "1,2")
query.order_by("number")
query.query()
found = [r.get_value("sys_id") for r in query]
check(found == [sys_id], f"query found {found}")
check(query.get_row_count() == 1, f"row count {query.get_row_count()}")

everything = local.GlideRecord("incident")
everything.add_query("short_description", "LIKE", "pysnc")
everything.order_by_desc("number")
everything.query()
listed = [r.get_value("correlation_id") for r in everything]
check(listed == ["PYSNC-0002", "PYSNC-0001"], f"ordered listing {listed}")

# update: the local desk adds a work note
mine = local.GlideRecord("incident")
check(mine.get(sys_id), "get before update")
mine.work_notes = "Ward 5 affected as well"
check(mine.update() is not None, "local update")

# update: the national desk moves the state and raises the priority
theirs = national.GlideRecord("incident")
check(theirs.get(sys_id), "national get")
theirs.state = "2"
theirs.impact = "1"
theirs.urgency = "1"
check(theirs.update() is not None, "national update")
after = national.GlideRecord("incident")
check(after.get(sys_id), "get after update")

# update_multiple: pysnc sends the changes through the Batch API, /api/now/v1/batch
batch = local.GlideRecord("incident")
batch.add_query("short_description", "LIKE", "pysnc")
batch.query()
for r in batch:
    r.work_notes = "Checked by the regional desk"
check(batch.update_multiple(), "update_multiple through the Batch API")

# The versioned Table API paths, with the parameters pysnc sends, and Python's own
# spelling of booleans (requests sends True as "True").
session = requests.Session()
session.auth = Bearer(os.environ["DESKGATE_LOCAL_TOKEN"])
session.verify = os.environ["DESKGATE_CA"]
table = os.environ["DESKGATE_URL"] + "/api/now/{}/table/incident"
pysnc_params = {
    "sysparm_display_value": "all",
    "sysparm_exclude_reference_link": "true",
    "sysparm_suppress_pagination_header": "true",
}
r = session.get(table.format("v2"), params={
    "sysparm_query": "short_descriptionLIKEpysnc^ORDERBYnumber",
    "sysparm_display_value": True,
    "sysparm_exclude_reference_link": False,
    "sysparm_limit": 100,
    "sysparm_offset": 0,
})
check(r.status_code == 200, f"v2 list: {r.status_code} {r.text}")
rows = r.json()["result"]
v2_listed = [row["number"] for row in rows]
service = rows[0]["business_service"]
check(service["display_value"] == "FMK" and service["link"].endswith("/table/cmdb_ci_service/FMK"), f"service {service}")
r = session.get(table.format("v1") + "/" + sys_id, params=pysnc_params)
check(r.status_code == 200, f"v1 get: {r.status_code} {r.text}")
v1_state = r.json()["result"]["state"]
r = session.get(table.format("v1"), params={"number": number, "active": "true", **pysnc_params})
check(r.status_code == 200, f"v1 name-value list: {r.status_code} {r.text}")
v1_filtered = [row["sys_id"]["value"] for row in r.json()["result"]]

print(json.dumps({
    "sys_id": sys_id,
    "number": number,
    "incident": fetched.get_value("u_deskgate_incident"),
    "state": after.get_value("state"),
    "priority": after.get_value("priority"),
    "queried": found,
    "v2_listed": v2_listed,
    "v1_state": v1_state,
    "v1_filtered": v1_filtered,
}))
