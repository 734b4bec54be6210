//! How a dialect's desk options (`[desks.<id>.<system>]`) are checked: each dialect's
//! `options.rs` implements [`DeskOptions`] for its options type, and configuration
//! runs every dialect's checks through [`CheckOptions`] in one loop. Plain
//! configuration logic: it reads the desk as written and names no other layer.

use crate::model::DialectId;

/// What an options check may look at of the desk the options belong to.
pub struct DeskFields<'a> {
    pub system: DialectId,
    /// Whether the desk writes an endpoint (even one that does not parse).
    pub endpoint_given: bool,
    /// The endpoint, when it parses as an http(s) URL.
    pub endpoint: Option<&'a url::Url>,
    pub has_credentials: bool,
}

/// A problem found: its key path and the message (configuration turns it into its
/// own problem type, which this layer cannot name).
pub type OptionProblem = (String, String);

/// A dialect's options type. Its key in a desk's table is the dialect's name.
pub trait DeskOptions {
    /// The dialect whose desks these options belong to.
    const SYSTEM: DialectId;

    /// Checks of the options as written, whatever the desk's system.
    fn check(&self, _desk_path: &str, _desk: &DeskFields<'_>, _problems: &mut Vec<OptionProblem>) {}

    /// Checks every desk of this dialect needs, with its options or without them.
    fn check_desk(
        _options: Option<&Self>,
        _desk_path: &str,
        _desk: &DeskFields<'_>,
        _problems: &mut Vec<OptionProblem>,
    ) {
    }
}

/// A desk's (optional) options of one dialect, checked without naming the dialect.
pub trait CheckOptions {
    fn check_options(&self, desk_path: &str, desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>);
}

impl<T: DeskOptions> CheckOptions for Option<T> {
    fn check_options(&self, desk_path: &str, desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>) {
        let key = T::SYSTEM.as_str();
        if self.is_some() && desk.system != T::SYSTEM {
            problems.push((
                format!("{desk_path}.{key}"),
                format!("options for {key}, but this desk's system is {}", desk.system.as_str()),
            ));
        }
        if desk.system == T::SYSTEM {
            T::check_desk(self.as_ref(), desk_path, desk, problems);
        }
        if let Some(options) = self {
            options.check(desk_path, desk, problems);
        }
    }
}
