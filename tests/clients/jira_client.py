"""Drive deskgate's Jira REST API with the unmodified `jira` package.

Environment: DESKGATE_URL (https://…), DESKGATE_CA (PEM of the gateway's CA),
DESKGATE_LOCAL_TOKEN (a Jira local desk's JWT), DESKGATE_SUPPLIER_TOKEN (the
operations supplier's JWT; it speaks Jira too), DESKGATE_NATIONAL_TOKEN (the
national desk's JWT, for the assignment through the native API).
Prints one JSON object with what the client saw; exits non-zero on any surprise.
"""

import json
import os
import sys

import requests
from jira import JIRA

URL = os.environ["DESKGATE_URL"]
CA = os.environ["DESKGATE_CA"]


def client(token):
    return JIRA(server=URL, token_auth=token, options={"verify": CA})


def check(condition, what):
    if not condition:
        print(f"unexpected: {what}", file=sys.stderr)
        sys.exit(1)


local = client(os.environ["DESKGATE_LOCAL_TOKEN"])
check(local.server_info()["deploymentType"] == "Server", "server info")
check(local.myself()["name"] == "region-m", "myself")

issue = local.create_issue(
    project={"key": "DG"},
    summary="FMK: prescriptions cannot be read (jira)",
    description="Since 01:40 no prescriptions are shown in the FMK client.",
    issuetype={"name": "Incident"},
    components=[{"name": "FMK"}],
    priority={"name": "High"},
    customfield_10100="PYJIRA-0001",
)
key = issue.key
check(key.startswith("DG-"), f"key {key}")
check(issue.fields.status.name == "Open", f"status {issue.fields.status.name}")

again = local.issue(key)
check(again.fields.summary == "FMK: prescriptions cannot be read (jira)", "summary")
check(again.fields.priority.name == "High", "priority")
incident = again.fields.customfield_10101

comment = local.add_comment(key, "Ward 4 reports the same")
check(comment.body == "Ward 4 reports the same", "comment body")

found = local.search_issues("project = DG AND priority = High ORDER BY key DESC")
check([i.key for i in found] == [key], f"search found {[i.key for i in found]}")
check(found.total == 1, f"total {found.total}")

# The national desk assigns the incident to the operations supplier (native API).
assigned = requests.patch(
    f"{URL}/api/v1/incidents/{incident}",
    json={"assignee": "drift"},
    headers={"Authorization": f"Bearer {os.environ['DESKGATE_NATIONAL_TOKEN']}"},
    verify=CA,
)
check(assigned.status_code == 200, f"assignment: {assigned.status_code} {assigned.text}")

supplier = client(os.environ["DESKGATE_SUPPLIER_TOKEN"])
names = [t["name"] for t in supplier.transitions(key)]
check("In Progress" in names and "Closed" not in names, f"transitions {names}")
supplier.transition_issue(key, "In Progress", comment="Investigating the certificate store")
status = supplier.issue(key).fields.status.name
check(status == "In Progress", f"status after transition {status}")

print(json.dumps({"key": key, "incident": incident, "transitions": names, "status": status}))
