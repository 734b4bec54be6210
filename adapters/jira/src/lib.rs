//! deskgate's Jira dialect: the outbound adapter and the wire vocabulary shared with
//! the gateway's Jira-compatible inbound API and the Jira simulator.
//!
//! - [`wire`]: serde types for Jira REST v2/v3 requests and answers, errors included.
//! - [`adf`]: Atlassian Document Format ⇄ plain text (v3 descriptions and comments).
//! - [`jql`]: a bounded JQL parser, evaluator and printer.
//! - [`webhook`]: webhook payloads and their `X-Hub-Signature` HMAC.
//! - [`client`]: [`JiraAdapter`], the [`deskgate_adapter::Adapter`] for a Jira desk.
//!
//! This crate knows nothing of the gateway's storage, HTTP server or mapping files:
//! it receives field values already in the Jira installation's vocabulary (status
//! and priority names) and returns typed results.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod adf;
pub mod attachment;
pub mod client;
pub mod jql;
pub mod webhook;
pub mod wire;

pub use client::{Auth, ConfigError, Deployment, InternalCommentVisibility, JiraAdapter, JiraConfig, UserRef};
pub use wire::ApiVersion;
