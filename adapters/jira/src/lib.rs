//! deskgate adapter for jira (under construction)
