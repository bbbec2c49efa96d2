//! Blue-green across two clusters over PostgreSQL's logical replication: the phases of a
//! cluster migration, its options, and the decisions the shell takes on what it reads
//! from the two clusters (is the initial copy done, may the switch begin). Pure: the
//! shell does the talking (dblink) and the writing.
use crate::keys::{first_unknown, unknown_option_message};
use serde_json::Value;

/// Where a cluster migration is. The shell stores it as text (the table's CHECK lists
/// the same words) and changes it only through [`ClusterPhase::can_transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterPhase {
    /// Started on blue; its worker has not set green up yet.
    Preparing,
    /// Green's subscription exists; the tables' initial copy runs.
    Copying,
    /// Every table is copied; green applies blue's writes as they commit.
    Streaming,
    /// Blue takes no writes (40001); the switch waits for green to apply the last one.
    Fenced,
    /// Green is the live cluster.
    Switched,
    /// Set-up or streaming failed; `error` says why. Abort cleans up.
    Failed,
    /// Stopped by the operator; blue takes writes, nothing is left on either side.
    Aborted,
}

impl ClusterPhase {
    pub const ALL: [ClusterPhase; 7] = [
        Self::Preparing,
        Self::Copying,
        Self::Streaming,
        Self::Fenced,
        Self::Switched,
        Self::Failed,
        Self::Aborted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preparing => "PREPARING",
            Self::Copying => "COPYING",
            Self::Streaming => "STREAMING",
            Self::Fenced => "FENCED",
            Self::Switched => "SWITCHED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// A migration that is over: a new one may start, its worker stops.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Switched | Self::Aborted)
    }

    /// The changes a cluster migration may make. A fence that cannot complete goes back to
    /// STREAMING (the fence lifted); a failure can happen anywhere before the switch; only
    /// an abort ends a failed one.
    pub fn can_transition(self, to: ClusterPhase) -> bool {
        use ClusterPhase::*;
        matches!(
            (self, to),
            (Preparing, Copying)
                | (Copying, Streaming)
                | (Streaming, Fenced)
                | (Fenced, Switched)
                | (Fenced, Streaming)
                | (Preparing | Copying | Streaming | Fenced, Failed)
                | (Preparing | Copying | Streaming | Fenced | Failed, Aborted)
        )
    }
}

pub const START_OPTION_KEYS: &[&str] = &[
    "publisherConninfo",
    "announceConninfo",
    "heartbeatInterval",
    "autoSwitch",
];

/// start_cluster_migration's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOptions {
    /// How green's subscription reaches blue; None: blue's own socket, port, database and
    /// user (right when both run on one machine).
    pub publisher_conninfo: Option<String>,
    /// What the switch tells clients to connect to; None: green's conninfo, password
    /// removed.
    pub announce_conninfo: Option<String>,
    /// How often blue writes its heartbeat row, in ms: the resolution of the applied lag.
    pub heartbeat_interval_ms: u64,
    /// Switch without the operator's CALL, as soon as green streams within these bounds
    /// (blue's worker looks at each heartbeat); None: the operator switches.
    pub auto_switch: Option<SwitchOptions>,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            publisher_conninfo: None,
            announce_conninfo: None,
            heartbeat_interval_ms: 1000,
            auto_switch: None,
        }
    }
}

impl StartOptions {
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("options must be a JSON object")?;
        if let Some(unknown) = first_unknown(obj, START_OPTION_KEYS) {
            return Err(unknown_option_message(unknown, START_OPTION_KEYS));
        }
        let mut o = StartOptions::default();
        for (k, val) in obj {
            let text = || -> Result<String, String> {
                val.as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| format!("options.{k} must be a non-empty connection string"))
            };
            match k.as_str() {
                "publisherConninfo" => o.publisher_conninfo = Some(text()?),
                "announceConninfo" => o.announce_conninfo = Some(text()?),
                "autoSwitch" => {
                    if !val.is_object() {
                        return Err(format!(
                            "options.autoSwitch must be an object of switch options ({}; {{}} for their defaults), not {val}",
                            SWITCH_OPTION_KEYS.join(", ")
                        ));
                    }
                    if val.get("catchUpTimeout").is_some() {
                        return Err("options.autoSwitch.catchUpTimeout does not apply: the automatic switch looks at the lag at every heartbeat and waits for none".into());
                    }
                    o.auto_switch = Some(
                        SwitchOptions::parse(val).map_err(|e| format!("options.autoSwitch: {e}"))?,
                    )
                }
                "heartbeatInterval" => {
                    o.heartbeat_interval_ms = val
                        .as_u64()
                        .filter(|n| (100..=60_000).contains(n))
                        .ok_or_else(|| {
                            format!("options.heartbeatInterval must be a whole number of ms from 100 to 60000, not {val}")
                        })?
                }
                _ => unreachable!("unknown keys were refused above"),
            }
        }
        Ok(o)
    }
}

pub const SWITCH_OPTION_KEYS: &[&str] = &["maxLagBytes", "maxLagMs", "catchUpTimeout", "timeout"];

/// switch_cluster_migration's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchOptions {
    /// The fence is raised only when green's applied lag is at most this many bytes of
    /// WAL, so that the wait under the fence (the write freeze) is short.
    pub max_lag_bytes: u64,
    /// ... and at most this many ms behind blue's clock beyond one heartbeat interval
    /// (green applied a heartbeat sent that recently): the wait under the fence is about
    /// this long.
    pub max_lag_ms: u64,
    /// How long the switch waits, before the fence, for green to come within the bounds
    /// (ms); past it the switch is refused with nothing changed.
    pub catch_up_timeout_ms: u64,
    /// How long to wait under the fence for green to apply blue's last write, in ms; past
    /// it the fence is lifted and the switch refused.
    pub timeout_ms: u64,
}

impl Default for SwitchOptions {
    fn default() -> Self {
        SwitchOptions {
            max_lag_bytes: 16 << 20,
            max_lag_ms: 500,
            catch_up_timeout_ms: 60_000,
            timeout_ms: 10_000,
        }
    }
}

impl SwitchOptions {
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("options must be a JSON object")?;
        if let Some(unknown) = first_unknown(obj, SWITCH_OPTION_KEYS) {
            return Err(unknown_option_message(unknown, SWITCH_OPTION_KEYS));
        }
        let mut o = SwitchOptions::default();
        for (k, val) in obj {
            let whole = |min: u64, max: u64| -> Result<u64, String> {
                val.as_u64()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        format!("options.{k} must be a whole number from {min} to {max}, not {val}")
                    })
            };
            match k.as_str() {
                "maxLagBytes" => o.max_lag_bytes = whole(0, 1 << 40)?,
                "maxLagMs" => o.max_lag_ms = whole(0, 3_600_000)?,
                "catchUpTimeout" => o.catch_up_timeout_ms = whole(0, 24 * 3_600_000)?,
                "timeout" => o.timeout_ms = whole(100, 3_600_000)?,
                _ => unreachable!("unknown keys were refused above"),
            }
        }
        Ok(o)
    }
}

/// `conninfo` with its password removed, for anything shown or announced (status,
/// notifications, audit): keyword/value form (`password=...`, quoted or not) and URI
/// form (`postgresql://user:secret@host/db`, `?password=...`).
pub fn redact_conninfo(conninfo: &str) -> String {
    let s = conninfo.trim();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return redact_uri(s);
    }
    let mut out = Vec::new();
    for (key, value) in keyword_pairs(s) {
        if !is_secret_key(&key) {
            out.push(format!("{key}={value}"));
        }
    }
    out.join(" ")
}

/// `password` and `sslpassword`, however spelled (case, percent-encoding in a URI).
fn is_secret_key(key: &str) -> bool {
    let decoded = percent_decode(key).to_ascii_lowercase();
    decoded == "password" || decoded == "sslpassword"
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `key=value` pairs of a keyword/value connection string, each value as written
/// (quotes and backslash escapes kept), so that the pairs can be written back.
fn keyword_pairs(s: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = s.chars().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        skip_space(&mut i);
        if i >= chars.len() || chars[i] != '=' {
            // not a pair (libpq would refuse it): keep the word, without a value
            pairs.push((key, String::new()));
            continue;
        }
        i += 1;
        skip_space(&mut i);
        let vstart = i;
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = i.min(chars.len());
        }
        pairs.push((key, chars[vstart..i].iter().collect()));
    }
    pairs
}

fn redact_uri(s: &str) -> String {
    let (scheme, rest) = s.split_once("://").unwrap_or(("postgresql", s));
    // the user info ends at the last '@': a password with a raw '?', '/' or '@' in it is
    // not a valid URI, but it must not leak either
    let (user, rest) = match rest.rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            (format!("{user}@"), &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    let (host_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let query = query.map(|q| {
        q.split('&')
            .filter(|p| !is_secret_key(p.split('=').next().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) if !q.is_empty() => format!("{scheme}://{user}{host_path}?{q}"),
        _ => format!("{scheme}://{user}{host_path}"),
    }
}

/// The initial copy, from pg_subscription_rel's states on green: done when every table
/// of the subscription is `r` (ready) or `s` (synchronized, the apply worker catching
/// it up). No table at all means the subscription has not listed them yet.
pub fn copy_finished(table_states: &[String]) -> bool {
    !table_states.is_empty() && table_states.iter().all(|s| s == "r" || s == "s")
}

/// Green's applied lag, from its copy of blue's heartbeat: WAL bytes and ms since the
/// heartbeat it applied was sent on blue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppliedLag {
    pub bytes: u64,
    pub ms: f64,
}

/// Why the fence may not go up yet, if it may not: the migration must be streaming and
/// green close enough behind that the wait under the fence is short. `lag` None: green
/// has applied no heartbeat yet. The ms bound allows one heartbeat interval on top (a
/// green that is up to date still shows up to one interval since the last beat).
pub fn switch_refusal(
    phase: ClusterPhase,
    lag: Option<AppliedLag>,
    heartbeat_interval_ms: u64,
    o: &SwitchOptions,
) -> Option<String> {
    match phase {
        ClusterPhase::Streaming => {}
        ClusterPhase::Fenced => return None, // an interrupted switch goes on
        p => {
            return Some(format!(
                "the cluster migration is {}: only a STREAMING one can switch",
                p.as_str()
            ))
        }
    }
    let Some(lag) = lag else {
        return Some("green has not applied a heartbeat yet: its lag is unknown".into());
    };
    if lag.bytes > o.max_lag_bytes {
        return Some(format!(
            "green is {} bytes of WAL behind, more than maxLagBytes ({})",
            lag.bytes, o.max_lag_bytes
        ));
    }
    let beyond = lag.ms - heartbeat_interval_ms as f64;
    if beyond > o.max_lag_ms as f64 {
        return Some(format!(
            "green is {:.0} ms behind (beyond one heartbeat interval of {heartbeat_interval_ms} ms), more than maxLagMs ({})",
            beyond, o.max_lag_ms
        ));
    }
    None
}

/// Blue's columns that green lacks or types differently, as "table.column (type)", from
/// the two clusters' {"table.column": "type"} maps: blue's rows fit green's tables when
/// there are none (green may have more columns).
pub fn missing_on_green(blue: &Value, green: &Value) -> Vec<String> {
    let (Some(b), Some(g)) = (blue.as_object(), green.as_object()) else {
        return vec!["(no columns read)".into()];
    };
    b.iter()
        .filter(|(k, t)| g.get(*k) != Some(*t))
        .map(|(k, t)| format!("{k} ({})", t.as_str().unwrap_or("?")))
        .collect()
}

/// An automatic switch gives up after this many fences lifted (green did not catch up
/// under the fence): each cost blue's writers a freeze; the operator takes over.
pub const AUTO_SWITCH_TRIES: u32 = 5;

/// How long an automatic switch waits after `lifted` fences were lifted before it raises
/// the fence again: five heartbeats, doubling with each lifted fence, at most 5 minutes.
pub fn auto_switch_backoff_ms(interval_ms: u64, lifted: u32) -> u64 {
    if lifted == 0 {
        return 0;
    }
    interval_ms
        .saturating_mul(5)
        .saturating_mul(1u64 << (lifted - 1).min(16))
        .min(300_000)
}

/// Whether green has lost the stream it needs: blue's slot is gone (`None`) or its WAL was
/// removed (`wal_status` 'lost', past max_slot_wal_keep_size) while the migration still
/// depends on it (copying, streaming, fenced). The changes since are nowhere to be had.
pub fn slot_lost(phase: ClusterPhase, wal_status: Option<&str>) -> bool {
    let streams = matches!(
        phase,
        ClusterPhase::Copying | ClusterPhase::Streaming | ClusterPhase::Fenced
    );
    streams && wal_status.is_none_or(|w| w == "lost")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn phases_round_trip_and_only_move_forward() {
        for p in ClusterPhase::ALL {
            assert_eq!(ClusterPhase::parse(p.as_str()), Some(p));
            assert!(!p.can_transition(p), "{p:?} to itself");
        }
        use ClusterPhase::*;
        assert!(Streaming.can_transition(Fenced));
        assert!(Fenced.can_transition(Streaming));
        assert!(
            !Switched.can_transition(Aborted),
            "a switch is undone by a revert, not an abort"
        );
        assert!(!Aborted.can_transition(Preparing));
        assert!(!Failed.can_transition(Streaming));
        assert!(Failed.can_transition(Aborted));
    }

    #[test]
    fn options_refuse_unknown_keys_and_bad_values() {
        let e = StartOptions::parse(&json!({"heartbeat_interval": 500})).unwrap_err();
        assert!(e.contains("heartbeatInterval"), "{e}");
        assert!(StartOptions::parse(&json!({"heartbeatInterval": 50})).is_err());
        assert!(StartOptions::parse(&json!({"publisherConninfo": " "})).is_err());
        assert!(StartOptions::parse(&json!([])).is_err());
        let o =
            StartOptions::parse(&json!({"heartbeatInterval": 250, "announceConninfo": "host=g"}))
                .unwrap();
        assert_eq!(o.heartbeat_interval_ms, 250);
        assert_eq!(o.announce_conninfo.as_deref(), Some("host=g"));
        assert!(SwitchOptions::parse(&json!({"maxlagbytes": 1})).is_err());
        assert!(SwitchOptions::parse(&json!({"timeout": 10})).is_err());
        assert_eq!(
            SwitchOptions::parse(&json!({"maxLagBytes": 0}))
                .unwrap()
                .max_lag_bytes,
            0
        );
    }

    #[test]
    fn passwords_are_removed_in_both_forms() {
        assert_eq!(
            redact_conninfo("host=h port=5433 password=s3cret user=u"),
            "host=h port=5433 user=u"
        );
        assert_eq!(
            redact_conninfo("host=h PASSWORD = 'a b\\' c' dbname=d"),
            "host=h dbname=d"
        );
        assert_eq!(
            redact_conninfo("postgresql://u:s3cret@h:5433/db?sslmode=require&password=x"),
            "postgresql://u@h:5433/db?sslmode=require"
        );
        assert_eq!(redact_conninfo("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_conninfo("host=h sslpassword=k"), "host=h");
        assert_eq!(
            redact_conninfo("postgresql://u:pa?ss@h/db"),
            "postgresql://u@h/db"
        );
        assert_eq!(
            redact_conninfo("postgresql://h/db?pass%77ord=x&a=b"),
            "postgresql://h/db?a=b"
        );
    }

    #[test]
    fn a_slot_is_lost_only_while_the_migration_needs_it() {
        for phase in [
            ClusterPhase::Copying,
            ClusterPhase::Streaming,
            ClusterPhase::Fenced,
        ] {
            assert!(slot_lost(phase, None));
            assert!(slot_lost(phase, Some("lost")));
            assert!(!slot_lost(phase, Some("reserved")));
            assert!(
                !slot_lost(phase, Some("extended")),
                "unreserved WAL is still there"
            );
        }
        for phase in [
            ClusterPhase::Preparing,
            ClusterPhase::Switched,
            ClusterPhase::Aborted,
            ClusterPhase::Failed,
        ] {
            assert!(!slot_lost(phase, None), "{phase:?} needs no slot");
        }
    }

    #[test]
    fn an_automatic_switch_backs_off_then_gives_up() {
        assert_eq!(auto_switch_backoff_ms(1000, 0), 0);
        assert_eq!(auto_switch_backoff_ms(1000, 1), 5_000);
        assert_eq!(auto_switch_backoff_ms(1000, 2), 10_000);
        assert_eq!(auto_switch_backoff_ms(1000, 4), 40_000);
        assert_eq!(auto_switch_backoff_ms(60_000, 30), 300_000, "capped");
        assert_eq!(auto_switch_backoff_ms(u64::MAX, 3), 300_000, "no overflow");
        let no_wait =
            StartOptions::parse(&json!({"autoSwitch": {"catchUpTimeout": 100}})).unwrap_err();
        assert!(no_wait.contains("does not apply"), "{no_wait}");
    }

    #[test]
    fn auto_switch_takes_the_switch_options() {
        let o = StartOptions::parse(&json!({"autoSwitch": {"maxLagMs": 500}})).unwrap();
        assert_eq!(o.auto_switch.map(|s| s.max_lag_ms), Some(500));
        let defaults = StartOptions::parse(&json!({"autoSwitch": {}})).unwrap();
        assert_eq!(defaults.auto_switch, Some(SwitchOptions::default()));
        assert_eq!(StartOptions::parse(&json!({})).unwrap().auto_switch, None);
        let typo = StartOptions::parse(&json!({"autoSwitch": {"max_lag": 1}})).unwrap_err();
        assert!(
            typo.starts_with("options.autoSwitch: unknown option \"max_lag\""),
            "{typo}"
        );
        let flag = StartOptions::parse(&json!({"autoSwitch": true})).unwrap_err();
        assert!(
            flag.contains("must be an object of switch options"),
            "{flag}"
        );
        let near = StartOptions::parse(&json!({"autoswitch": {}})).unwrap_err();
        assert!(near.contains("did you mean \"autoSwitch\""), "{near}");
    }

    #[test]
    fn the_copy_is_done_when_every_table_is_ready() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(!copy_finished(&[]));
        assert!(!copy_finished(&s(&["r", "d"])));
        assert!(copy_finished(&s(&["r", "s", "r"])));
    }

    #[test]
    fn the_switch_waits_for_a_small_lag() {
        let o = SwitchOptions::default();
        let lag = |bytes, ms| Some(AppliedLag { bytes, ms });
        assert!(switch_refusal(ClusterPhase::Copying, lag(0, 0.0), 1000, &o).is_some());
        assert!(switch_refusal(ClusterPhase::Streaming, None, 1000, &o).is_some());
        assert!(switch_refusal(
            ClusterPhase::Streaming,
            lag(o.max_lag_bytes + 1, 0.0),
            1000,
            &o
        )
        .is_some());
        assert!(
            switch_refusal(ClusterPhase::Streaming, lag(o.max_lag_bytes, 0.0), 1000, &o).is_none()
        );
        // one interval since the last beat is up to date; more than maxLagMs beyond it is not
        assert!(switch_refusal(ClusterPhase::Streaming, lag(0, 1400.0), 1000, &o).is_none());
        assert!(switch_refusal(ClusterPhase::Streaming, lag(0, 1600.0), 1000, &o).is_some());
        assert!(switch_refusal(ClusterPhase::Fenced, None, 1000, &o).is_none());
        assert_eq!(
            SwitchOptions::parse(&json!({"maxLagMs": 100, "catchUpTimeout": 0}))
                .unwrap()
                .max_lag_ms,
            100
        );
    }

    #[test]
    fn blue_rows_fit_a_green_with_more_columns_only() {
        let blue = json!({"t.id": "bigint", "t.v": "text"});
        assert!(missing_on_green(
            &blue,
            &json!({"t.id": "bigint", "t.v": "text", "t.extra": "text"})
        )
        .is_empty());
        assert_eq!(
            missing_on_green(&blue, &json!({"t.id": "bigint"})),
            vec!["t.v (text)"]
        );
        assert_eq!(
            missing_on_green(&blue, &json!({"t.id": "integer", "t.v": "text"})),
            vec!["t.id (bigint)"]
        );
        assert!(!missing_on_green(&blue, &json!(null)).is_empty());
    }

    proptest! {
        #[test]
        fn a_password_never_survives(
            secret in "[A-Za-z0-9!#%&()*+,.:;<>?@^_{}~-]{1,20}",
            host in "[a-z]{1,8}",
            quoted in any::<bool>(),
        ) {
            let value = if quoted { format!("'{secret}'") } else { secret.clone() };
            let s = format!("host={host} password={value} dbname=x");
            let r = redact_conninfo(&s);
            prop_assert!(!r.contains("password"), "{}", r);
            prop_assert_eq!(r, format!("host={host} dbname=x"));
            let uri = redact_conninfo(&format!("postgresql://me:{}@{host}/x", secret.replace(['@', '/', '?'], "")));
            prop_assert_eq!(uri, format!("postgresql://me@{host}/x"));
        }
    }
}
