//! Change capture from ServiceNow desks that push: `POST /webhooks/servicenow/{desk}`,
//! the business rule's push (`{operation, sys_id, number, changed_fields, record,
//! journal}`), authenticated with the desk's own Bearer token, rate-limited and
//! answered like every pushed event (`crate::dialects::capture`). A push applies only
//! when its `record.sys_mod_count` (else `sys_updated_on`) is newer than what was taken.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use deskgate_adapter::{RemoteNote, TicketFields};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::DeskPrincipal;
use crate::config::System;
use crate::gateway::RequestContext;
use crate::gateway::inbound::RemoteUpdate;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::parse_json;
use crate::model::RemoteVersion;

use crate::dialects::capture::{Received, apply, body_of, desk_of};

#[derive(Deserialize)]
struct ServiceNowPush {
    sys_id: String,
    #[serde(default)]
    record: serde_json::Map<String, Value>,
    journal: Option<ServiceNowJournal>,
}

#[derive(Deserialize)]
struct ServiceNowJournal {
    element: String,
    value: String,
}

/// The record's version: `sys_mod_count` and `sys_updated_on` (UTC, `YYYY-MM-DD hh:mm:ss`).
fn servicenow_version(record: &serde_json::Map<String, Value>) -> Result<RemoteVersion, ApiError> {
    let text = |k: &str| record.get(k).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let mod_count = text("sys_mod_count")
        .map(|c| {
            c.parse::<u64>().map_err(|_| {
                ApiError::bad_request("record.sys_mod_count", "record.sys_mod_count: expected a whole number")
            })
        })
        .transpose()?;
    let updated_ms = text("sys_updated_on")
        .map(|t| {
            format!("{}Z", t.replacen(' ', "T", 1)).parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(
                |_| {
                    ApiError::bad_request(
                        "record.sys_updated_on",
                        "record.sys_updated_on: expected a time like 2026-03-01 10:00:00 (UTC)",
                    )
                },
            )
        })
        .transpose()?;
    Ok(RemoteVersion { mod_count, updated_ms, ..RemoteVersion::default() })
}

/// A ServiceNow business rule's push.
pub async fn servicenow(
    State(state): State<AppState>,
    who: DeskPrincipal,
    ctx: RequestContext,
    Path(desk): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Received, ApiError> {
    let desk = desk_of(&state, &desk, System::Servicenow)?;
    if who.desk != desk {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{} cannot push changes for {desk}", who.desk),
        ));
    }
    let body = body_of(body)?;
    let push: ServiceNowPush = parse_json(&body)?;
    let version = servicenow_version(&push.record)?;
    let text = |k: &str| push.record.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut fields = TicketFields {
        title: text("short_description"),
        status: text("state"),
        priority: text("priority"),
        ..TicketFields::default()
    };
    for key in ["hold_reason", "impact", "urgency", "close_code", "close_notes"] {
        if let Some(v) = text(key) {
            fields.extra.insert(key.to_owned(), v);
        }
    }
    let notes = push
        .journal
        .filter(|j| matches!(j.element.as_str(), "comments" | "work_notes") && !j.value.trim().is_empty())
        .map(|j| RemoteNote { public: j.element == "comments", body: j.value, author: None, at: None })
        .into_iter()
        .collect();
    apply(&state, &desk, &push.sys_id, RemoteUpdate { fields, notes }, &version, &ctx).await
}
