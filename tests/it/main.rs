//! The integration tests: one binary (the gateway links once), one module per area.
//! `kit` is the shared set-up: the federation, its configuration, desk tokens, waiting,
//! and the real binary.

mod kit;

mod api;
mod attachments;
mod backup;
mod backup_pg;
mod bounds;
mod cli;
mod close_authority;
mod crash;
mod demo;
mod deploy;
mod deploy_replicated;
mod escalation_api;
mod escalation_flow;
mod flow;
mod flow_more;
mod fuzz;
mod hand_on;
mod healthdata;
mod hostile_input;
mod incident_report;
mod intake;
mod jira_api;
mod jira_cloud;
mod jira_sync;
mod journal;
mod layers;
mod mitz;
mod openapi;
mod outbox_cli;
mod pages;
mod patient_data;
mod probe;
mod process_doc;
mod ratelimit;
mod real_clients;
mod replicas;
mod request_id;
mod secrets;
mod servicenow_api;
mod servicenow_batch;
mod shutdown;
mod sim_cli;
mod supplier_detected;
mod support_requests;
mod sync_contracts;
mod tls;
mod visibility;
mod web;
mod web_signin;
mod webhooks;
