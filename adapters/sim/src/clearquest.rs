//! clearquest simulator (under construction)
