//! What the routers and workers look up through the gateway rather than reaching
//! into its parts: the configuration and a desk's entry, a desk's mapping, the
//! clock, authentication, the outbox's wake-up signal, stored positions, and the
//! incident a desk's ticket is.

use std::sync::Arc;

use super::{Gateway, GatewayError};
use crate::auth::{AuthError, DeskPrincipal};
use crate::config::{Config, Desk};
use crate::mapping::DeskMapping;
use crate::model::{DeskId, Incident, IncidentId, TicketId};

impl Gateway {
    /// The configuration the gateway runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A registered desk's configuration.
    pub fn desk(&self, id: &DeskId) -> Option<&Desk> {
        self.config.desk(id)
    }

    /// How `desk`'s vocabulary maps to the canonical model.
    pub fn mapping(&self, desk: &DeskId) -> Option<&DeskMapping> {
        self.mappings.desk(desk)
    }

    /// The desk a Bearer token names, or why not.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<DeskPrincipal, AuthError> {
        self.auth.authenticate(authorization)
    }

    /// Woken whenever a change put deliveries in the outbox (the delivery workers
    /// wait on it).
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_changed.clone()
    }

    /// A named position kept across restarts (a poll watermark).
    pub async fn cursor(&self, name: &str) -> Result<Option<String>, GatewayError> {
        Ok(self.store.cursor(name).await?)
    }

    pub async fn set_cursor(&self, name: &str, value: &str) -> Result<(), GatewayError> {
        Ok(self.store.set_cursor(name, value).await?)
    }

    /// Which incident `desk`'s ticket is, for reports from that desk's own tool
    /// (authenticated before they get here); visibility is checked when the report
    /// is applied as that desk.
    pub async fn ticket_incident(&self, desk: &DeskId, ticket: &TicketId) -> Result<Option<IncidentId>, GatewayError> {
        Ok(self.store.find_by_ref(desk, ticket).await?)
    }

    /// The incident as stored, for reading a desk tool's report against it before it
    /// is applied (as [`Gateway::ticket_incident`]).
    pub async fn incident_for_sync(&self, id: &IncidentId) -> Result<Option<Incident>, GatewayError> {
        Ok(self.store.get_incident(id).await?)
    }
}
