//! Typed reading of a JSON object body: each field is read into a typed value or leaves a
//! per-field reason, and [`Fields::finish`] turns the reasons into one 422
//! `validation_failed`. [`Patch`] tells absent from `null` from a value.

use serde_json::{Map, Value};

use crate::domain::error::{ApiError, ApiResult, FieldErrors};
use crate::domain::rules::{Int, Text};

/// A PATCH field: absent, explicitly null, or a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch<T> {
    /// Not in the body: leave unchanged.
    Absent,
    /// `null`: clear.
    Null,
    /// A new value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the field was present.
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Absent)
    }
    /// Applies to a current optional value.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Absent => current,
            Patch::Null => None,
            Patch::Value(v) => Some(v),
        }
    }
}

/// Typed access to a JSON body that collects per-field errors (422 `validation_failed`).
pub struct Fields {
    map: Map<String, Value>,
    errors: FieldErrors,
}

impl Fields {
    /// Wraps a parsed body.
    pub fn new(map: Map<String, Value>) -> Self {
        Fields { map, errors: FieldErrors::new() }
    }
    /// Finishes with a value that validation guarantees: 422 when any reason was recorded
    /// (or, defensively, when the value is missing), never a panic.
    pub fn finish_with<T>(self, v: Option<T>) -> ApiResult<T> {
        match v {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ApiError::Validation(self.errors)),
        }
    }
    /// The raw value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }
    /// Whether the field is present (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
    /// Records an error.
    pub fn error(&mut self, name: &str, why: &str) {
        self.errors.entry(name.to_string()).or_insert_with(|| why.to_string());
    }
    /// Whether `name` already has an error.
    pub fn has_error(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }
    /// 422 if any error was recorded.
    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    fn raw(&self, name: &str) -> Patch<&Value> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(v) => Patch::Value(v),
        }
    }

    /// A string field (trimmed when `trim`), with a length range in characters.
    pub fn string(&mut self, name: &str, min: usize, max: usize, trim: bool) -> Patch<String> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::String(s)) => {
                let s = if trim { s.trim().to_string() } else { s.clone() };
                let n = s.chars().count();
                if n < min || n > max {
                    self.error(name, &format!("must be {min} to {max} characters"));
                    Patch::Absent
                } else {
                    Patch::Value(s)
                }
            }
            Patch::Value(_) => {
                self.error(name, "must be a string");
                Patch::Absent
            }
        }
    }

    /// A string field under a declared [`Text`] rule.
    pub fn text(&mut self, name: &str, rule: Text) -> Patch<String> {
        self.string(name, rule.min, rule.max, rule.trim)
    }

    /// A required non-null string under a declared [`Text`] rule.
    pub fn required_text(&mut self, name: &str, rule: Text) -> Option<String> {
        self.required_string(name, rule.min, rule.max, rule.trim)
    }

    /// An integer field under a declared [`Int`] rule.
    pub fn int(&mut self, name: &str, rule: Int) -> Patch<i64> {
        self.integer(name, rule.min, rule.max)
    }

    /// A required non-null string.
    pub fn required_string(&mut self, name: &str, min: usize, max: usize, trim: bool) -> Option<String> {
        match self.string(name, min, max, trim) {
            Patch::Value(s) => Some(s),
            Patch::Null | Patch::Absent => {
                if !self.has_error(name) {
                    self.error(name, "is required");
                }
                None
            }
        }
    }

    /// A strict boolean.
    pub fn boolean(&mut self, name: &str) -> Patch<bool> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Bool(b)) => Patch::Value(*b),
            Patch::Value(_) => {
                self.error(name, "must be true or false");
                Patch::Absent
            }
        }
    }

    /// An integer in a range. Like JSON Schema's `integer`, a number without a fraction
    /// (`1.0`) is one; `1.5` and `"1"` are refused.
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> Patch<i64> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Number(n)) => match integral(n) {
                Some(v) if (min..=max).contains(&v) => Patch::Value(v),
                _ => {
                    self.error(name, &format!("must be an integer from {min} to {max}"));
                    Patch::Absent
                }
            },
            Patch::Value(_) => {
                self.error(name, &format!("must be an integer from {min} to {max}"));
                Patch::Absent
            }
        }
    }

    /// A number with at most two decimals in a range, as hundredths (exact).
    pub fn centis(&mut self, name: &str, min: i64, max: i64) -> Patch<i64> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Number(n)) => {
                let s = n.to_string();
                match parse_centis(&s) {
                    Some(c) if c >= min * 100 && c <= max * 100 => Patch::Value(c),
                    _ => {
                        self.error(name, &format!("must be a number from {min} to {max} with at most 2 decimals"));
                        Patch::Absent
                    }
                }
            }
            Patch::Value(_) => {
                self.error(name, "must be a number");
                Patch::Absent
            }
        }
    }

    /// An id reference.
    pub fn id(&mut self, name: &str) -> Patch<String> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::String(s)) if crate::store::keys::is_valid_id(s) => Patch::Value(s.clone()),
            Patch::Value(Value::String(_)) => {
                self.error(name, "does not exist in this workspace");
                Patch::Absent
            }
            Patch::Value(_) => {
                self.error(name, "must be a string id");
                Patch::Absent
            }
        }
    }

    /// A list of ids (duplicates refused), at most `max`.
    pub fn id_list(&mut self, name: &str, max: usize) -> Patch<Vec<String>> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Array(a)) => {
                let mut out: Vec<String> = vec![];
                for v in a {
                    match v.as_str() {
                        Some(s) if out.iter().any(|x| x == s) => {
                            self.error(name, "must not contain duplicates");
                            return Patch::Absent;
                        }
                        Some(s) => out.push(s.to_string()),
                        None => {
                            self.error(name, "must be an array of string ids");
                            return Patch::Absent;
                        }
                    }
                }
                if out.len() > max {
                    self.error(name, &format!("must have at most {max} items"));
                    return Patch::Absent;
                }
                if out.iter().any(|s| !crate::store::keys::is_valid_id(s)) {
                    self.error(name, "does not exist in this workspace");
                    return Patch::Absent;
                }
                Patch::Value(out)
            }
            Patch::Value(_) => {
                self.error(name, "must be an array of string ids");
                Patch::Absent
            }
        }
    }

    /// A `YYYY-MM-DD` date (`null` counts as absent).
    pub fn date(&mut self, name: &str) -> Option<jiff::civil::Date> {
        match self.raw(name) {
            Patch::Absent | Patch::Null => None,
            Patch::Value(Value::String(s)) if s.len() == 10 => match s.parse() {
                Ok(d) => Some(d),
                Err(_) => {
                    self.error(name, "must be a YYYY-MM-DD date");
                    None
                }
            },
            Patch::Value(_) => {
                self.error(name, "must be a YYYY-MM-DD date");
                None
            }
        }
    }

    /// An RFC 3339 instant (fractions truncated).
    pub fn instant(&mut self, name: &str) -> Patch<jiff::Timestamp> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::String(s)) => match crate::domain::time::parse_instant(s) {
                Some(t) => Patch::Value(t),
                None => {
                    self.error(name, "must be an RFC 3339 timestamp");
                    Patch::Absent
                }
            },
            Patch::Value(_) => {
                self.error(name, "must be an RFC 3339 timestamp");
                Patch::Absent
            }
        }
    }
}

/// The integer a JSON number stands for: an integer, or a float without a fraction that an
/// `f64` holds exactly (|x| < 2^53).
fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).map(|f| f as i64))
}

/// Parses a decimal number with at most two fractional digits into hundredths.
pub fn parse_centis(s: &str) -> Option<i64> {
    if s.contains(['e', 'E']) {
        let f: f64 = s.parse().ok()?;
        let c = (f * 100.0).round();
        return ((c / 100.0 - f).abs() < 1e-9 && c.abs() < 1e15).then_some(c as i64);
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 || int.is_empty() || int.len() > 12 {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let f: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    let v = i * 100 + f;
    Some(if neg { -v } else { v })
}
