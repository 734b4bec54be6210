//! deskgate adapter for clearquest (under construction)
