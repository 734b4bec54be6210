//! jira simulator (under construction)
