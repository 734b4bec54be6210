//! deskgate
