"""Drive deskgate's Jira REST API with the unmodified `jira` package.

`python jira_client.py` runs it as a Server/Data Center client (REST v2, `search`);
`python jira_client.py cloud` as a Jira Cloud client (REST v3, whose serverInfo says
Cloud, so the package uses `search/jql`, `accountId` and ADF bodies).

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


CLOUD = sys.argv[1:] == ["cloud"]


def client(token):
    options = {"verify": CA}
    if CLOUD:
        options["rest_api_version"] = "3"
    return JIRA(server=URL, token_auth=token, options=options)


def check(condition, what):
    if not condition:
        print(f"unexpected: {what}", file=sys.stderr)
        sys.exit(1)


def text(body):
    """A comment or description as text: v2 sends a string, v3 an ADF document."""
    if isinstance(body, str):
        return body
    raw = body if isinstance(body, dict) else body.raw if hasattr(body, "raw") else vars(body)
    out = []

    def walk(node):
        node = node if isinstance(node, dict) else vars(node)
        if node.get("type") == "text":
            out.append(node.get("text", ""))
        for child in node.get("content", []) or []:
            walk(child)

    walk(raw)
    return "".join(out)


local = client(os.environ["DESKGATE_LOCAL_TOKEN"])
check(local.server_info()["deploymentType"] == ("Cloud" if CLOUD else "Server"), "server info")
check(local._is_cloud == CLOUD, "deployment mode")
me = local.myself()
check(me["name"] == "region-m" and me["accountId"] == "region-m", "myself")

ticket = "PYJIRA-CLOUD" if CLOUD else "PYJIRA-0001"
summary = f"FMK: prescriptions cannot be read (jira{', cloud' if CLOUD else ''})"
# Named project and issue type: the client looks both up (project, its issue types).
issue = local.create_issue(
    project="DG",
    summary=summary,
    description="Since 01:40 no prescriptions are shown in the FMK client.",
    issuetype="Incident",
    components=[{"name": "FMK"}],
    priority={"name": "High"},
    customfield_10100=ticket,
)
key = issue.key
check(key.startswith("DG-"), f"key {key}")
check(issue.fields.status.name == "Open", f"status {issue.fields.status.name}")
check(issue.fields.issuetype.name == "Incident", "issue type")

again = local.issue(key)
check(again.fields.summary == summary, "summary")
check(text(again.fields.description).startswith("Since 01:40"), "description")
check(again.fields.priority.name == "High", "priority")
incident = again.fields.customfield_10101

comment = local.add_comment(key, "Ward 4 reports the same")
check(text(comment.body) == "Ward 4 reports the same", "comment body")
check(text(local.comment(key, comment.id).body) == "Ward 4 reports the same", "comment by id")

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
users = supplier.search_users(query="drift") if CLOUD else supplier.search_users(user="drift")
check([u.name for u in users] == ["drift"], f"users {[u.name for u in users]}")
names = [t["name"] for t in supplier.transitions(key)]
check("In Progress" in names and "Closed" not in names, f"transitions {names}")
supplier.transition_issue(key, "In Progress", comment="Investigating the certificate store")
status = supplier.issue(key).fields.status.name
check(status == "In Progress", f"status after transition {status}")
resolution = None
if CLOUD:
    supplier.transition_issue(key, "Resolved", comment="Renewed the certificate")
    resolved = supplier.issue(key, expand="changelog")
    status = resolved.fields.status.name
    check(status == "Resolved", f"status after resolving {status}")
    resolution = resolved.fields.resolution.name
    moves = [i.toString for h in resolved.changelog.histories for i in h.items if i.field == "status"]
    check(moves[-2:] == ["In Progress", "Resolved"], f"changelog {moves}")

print(json.dumps({"key": key, "incident": incident, "transitions": names, "status": status, "resolution": resolution}))
