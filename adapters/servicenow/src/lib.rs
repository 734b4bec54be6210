//! deskgate adapter for servicenow (under construction)
