//! servicenow simulator (under construction)
