//! Intrinsic functions: `States.Format('{} items', $.n)` and friends.
//!
//! Parsed once at load time (unknown or unsupported functions and wrong argument counts are
//! refused there), evaluated per state. Arguments are literals (`'single-quoted strings'`,
//! numbers, `true`, `false`, `null`), paths, or nested intrinsic calls. Inside string
//! literals `\'`, `\{`, `\}` and `\\` are escapes; in a `States.Format` template an escaped
//! brace is literal and `{}` is a placeholder.
//!
//! Failures: a path argument that matches nothing is `States.Runtime` (like every path);
//! arguments of the wrong type or value are `States.IntrinsicFailure`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Number, Value};
use sha2::Digest as _;

use super::errors::StateError;
use super::path::{Path, Scope, kind_of};

/// Implemented functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    JsonMerge,
    MathAdd,
    StringSplit,
    Uuid,
    Base64Encode,
    Base64Decode,
    Hash,
    MathRandom,
}

impl Func {
    fn lookup(name: &str) -> Result<Func, String> {
        Ok(match name {
            "States.Format" => Func::Format,
            "States.StringToJson" => Func::StringToJson,
            "States.JsonToString" => Func::JsonToString,
            "States.Array" => Func::Array,
            "States.ArrayPartition" => Func::ArrayPartition,
            "States.ArrayContains" => Func::ArrayContains,
            "States.ArrayRange" => Func::ArrayRange,
            "States.ArrayGetItem" => Func::ArrayGetItem,
            "States.ArrayLength" => Func::ArrayLength,
            "States.ArrayUnique" => Func::ArrayUnique,
            "States.JsonMerge" => Func::JsonMerge,
            "States.MathAdd" => Func::MathAdd,
            "States.StringSplit" => Func::StringSplit,
            "States.UUID" => Func::Uuid,
            "States.Base64Encode" => Func::Base64Encode,
            "States.Base64Decode" => Func::Base64Decode,
            "States.Hash" => Func::Hash,
            "States.MathRandom" => Func::MathRandom,
            _ => return Err(format!("unknown intrinsic function `{name}`")),
        })
    }

    /// (minimum, maximum) argument counts.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Format => (1, usize::MAX),
            Func::Array => (0, usize::MAX),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, 1),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::MathAdd
            | Func::StringSplit
            | Func::Hash => (2, 2),
            Func::MathRandom => (2, 3),
            Func::ArrayRange | Func::JsonMerge => (3, 3),
            Func::Uuid => (0, 0),
        }
    }
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A string literal as written between the quotes (escapes still in place).
    Str(String),
    Number(Number),
    Bool(bool),
    Null,
    Path(Path),
    Call(Box<Call>),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    name: String,
    func: Func,
    args: Vec<Arg>,
}

/// Does this string look like an intrinsic call (rather than a path)?
pub(crate) fn is_intrinsic(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    /// Parses a whole intrinsic expression; the error is a reason for a `LoadError`.
    pub(crate) fn parse(text: &str) -> Result<Call, String> {
        let mut p = Parser {
            text,
            chars: text.chars().collect(),
            pos: 0,
        };
        p.skip_ws();
        let call = p.call()?;
        p.skip_ws();
        if p.pos != p.chars.len() {
            return p.fail("unexpected text after the closing `)`");
        }
        Ok(call)
    }

    /// Evaluates the call against the state's input and the context object.
    pub(crate) fn eval(&self, input: &Value, context: &Scope<'_>) -> Result<Value, StateError> {
        let fail = |why: String| StateError::intrinsic(format!("{}: {why}", self.name));
        if self.func == Func::Format {
            let template = match self.args.first() {
                Some(Arg::Str(raw)) => raw.clone(),
                Some(other) => match eval_arg(other, input, context)? {
                    Value::String(s) => s,
                    v => return Err(fail(format!("the template is {}, not a string", kind_of(&v)))),
                },
                None => return Err(fail("missing template".into())),
            };
            let values = self
                .args
                .iter()
                .skip(1)
                .map(|a| eval_arg(a, input, context))
                .collect::<Result<Vec<_>, _>>()?;
            return format(&template, &values).map(Value::String).map_err(fail);
        }
        let args = self
            .args
            .iter()
            .map(|a| eval_arg(a, input, context))
            .collect::<Result<Vec<_>, _>>()?;
        apply(self.func, &args).map_err(fail)
    }
}

fn eval_arg(arg: &Arg, input: &Value, context: &Scope<'_>) -> Result<Value, StateError> {
    Ok(match arg {
        Arg::Str(raw) => Value::String(unescape(raw)),
        Arg::Number(n) => Value::Number(n.clone()),
        Arg::Bool(b) => Value::Bool(*b),
        Arg::Null => Value::Null,
        Arg::Path(path) => path
            .read(input, context)
            .map_err(|e| StateError::runtime(format!("intrinsic function argument: {e}")))?,
        Arg::Call(call) => call.eval(input, context)?,
    })
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Counts `{}` placeholders in a raw (escaped) template.
fn placeholders(raw: &str) -> usize {
    let mut count = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                count += 1;
            }
            _ => {}
        }
    }
    count
}

fn format(raw: &str, values: &[Value]) -> Result<String, String> {
    let expected = placeholders(raw);
    if expected != values.len() {
        return Err(format!(
            "the template has {expected} placeholder(s) but {} argument(s) were given",
            values.len()
        ));
    }
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                match values.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => out.push_str(&v.to_string()),
                    Some(v) => {
                        return Err(format!(
                            "only strings, numbers, booleans and null can be formatted, not {}",
                            kind_of(v)
                        ));
                    }
                    None => return Err("too few arguments".into()),
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn as_array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} must be an array, not {}", kind_of(v)))
}

fn as_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what} must be a string, not {}", kind_of(v)))
}

/// An integer argument; non-integers are rounded to the nearest integer (as Step Functions
/// does for `States.MathAdd`).
fn as_int(v: &Value, what: &str) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(f.round() as i64),
        _ => Err(format!("{what} must be an integer, not {v}")),
    }
}

/// The intrinsic `name` applied to values already evaluated: JSONata's `$partition`,
/// `$range`, `$hash`, `$uuid` and `$parse` are AWS's intrinsics under other names, so they
/// share one implementation (and one set of limits and messages).
pub(crate) fn apply_named(name: &str, args: &[Value]) -> Result<Value, String> {
    let func = Func::lookup(name)?;
    let (min, max) = func.arity();
    if !(min..=max).contains(&args.len()) {
        return Err(format!(
            "takes {} argument(s), not {}",
            arity_text(min, max),
            args.len()
        ));
    }
    apply(func, args)
}

fn arity_text(min: usize, max: usize) -> String {
    match (min, max) {
        (min, usize::MAX) => format!("at least {min}"),
        (min, max) if min == max => format!("{min}"),
        (min, max) => format!("{min} to {max}"),
    }
}

fn apply(func: Func, args: &[Value]) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    match func {
        Func::Format => Err("internal: Format is evaluated separately".into()),
        Func::StringToJson => {
            let s = as_str(arg(0), "the argument")?;
            serde_json::from_str(s).map_err(|e| format!("the argument is not JSON: {e}"))
        }
        Func::JsonToString => Ok(Value::String(arg(0).to_string())),
        Func::Array => Ok(Value::Array(args.to_vec())),
        Func::ArrayPartition => {
            let items = as_array(arg(0), "the first argument")?;
            let size = as_int(arg(1), "the chunk size")?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("the chunk size must be positive, not {size}"))?;
            Ok(Value::Array(
                items.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
            ))
        }
        Func::ArrayContains => Ok(Value::Bool(as_array(arg(0), "the first argument")?.contains(arg(1)))),
        Func::ArrayRange => {
            let start = as_int(arg(0), "the start")?;
            let end = as_int(arg(1), "the end")?;
            let step = as_int(arg(2), "the step")?;
            if step == 0 {
                return Err("the step must not be 0".into());
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                if out.len() == 1000 {
                    return Err("the range has more than 1000 items".into());
                }
                out.push(Value::from(i));
                match i.checked_add(step) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            Ok(Value::Array(out))
        }
        Func::ArrayGetItem => {
            let items = as_array(arg(0), "the first argument")?;
            let index = as_int(arg(1), "the index")?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| format!("index {index} is outside the array (length {})", items.len()))
        }
        Func::ArrayLength => Ok(Value::from(as_array(arg(0), "the argument")?.len())),
        Func::ArrayUnique => {
            let mut out: Vec<Value> = Vec::new();
            for item in as_array(arg(0), "the argument")? {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Func::JsonMerge => {
            let (Value::Object(a), Value::Object(b)) = (arg(0), arg(1)) else {
                return Err("the first two arguments must be objects".into());
            };
            let Value::Bool(deep) = arg(2) else {
                return Err(format!(
                    "the third argument (deep merge) must be a boolean, not {}",
                    kind_of(arg(2))
                ));
            };
            let mut merged: Map<String, Value> = a.clone();
            merge_into(&mut merged, b, *deep);
            Ok(Value::Object(merged))
        }
        Func::MathAdd => {
            let a = as_int(arg(0), "the first argument")?;
            let b = as_int(arg(1), "the second argument")?;
            a.checked_add(b)
                .map(Value::from)
                .ok_or_else(|| "the sum overflows".to_string())
        }
        Func::StringSplit => {
            let s = as_str(arg(0), "the first argument")?;
            let delimiters = as_str(arg(1), "the delimiter")?;
            Ok(Value::Array(
                s.split(|c| delimiters.contains(c))
                    .filter(|part| !part.is_empty())
                    .map(|part| Value::String(part.to_string()))
                    .collect(),
            ))
        }
        Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        Func::Base64Encode => {
            let s = limited(as_str(arg(0), "the argument")?)?;
            Ok(Value::String(BASE64.encode(s)))
        }
        Func::Base64Decode => {
            let s = limited(as_str(arg(0), "the argument")?)?;
            let bytes = BASE64
                .decode(s)
                .map_err(|e| format!("the argument is not base64: {e}"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| "the decoded bytes are not UTF-8 text".to_string())
        }
        Func::Hash => {
            let data = match arg(0) {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let data = limited(&data)?;
            let algorithm = as_str(arg(1), "the algorithm")?;
            let digest = match algorithm {
                "MD5" => hex::encode(md5::Md5::digest(data)),
                "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
                "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
                "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
                "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
                other => {
                    return Err(format!(
                        "the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384 or SHA-512, not `{other}`"
                    ));
                }
            };
            Ok(Value::String(digest))
        }
        Func::MathRandom => {
            use rand::{Rng, SeedableRng};
            let start = as_int(arg(0), "the start")?;
            let end = as_int(arg(1), "the end")?;
            if start > end {
                return Err(format!("the start ({start}) must not be greater than the end ({end})"));
            }
            let value = match args.get(2) {
                // A seed makes the result repeatable, as on AWS (though not the same number AWS
                // picks: its generator is not documented).
                Some(seed) => {
                    let seed = as_int(seed, "the seed")?;
                    rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..=end)
                }
                None => rand::rng().random_range(start..=end),
            };
            Ok(Value::from(value))
        }
    }
}

/// AWS limits the text given to the encoding and hashing functions to 10,000 characters.
const ENCODE_LIMIT: usize = 10_000;

fn limited(s: &str) -> Result<&str, String> {
    let n = s.chars().count();
    if n > ENCODE_LIMIT {
        return Err(format!(
            "the input has {n} characters; at most {ENCODE_LIMIT} are allowed"
        ));
    }
    Ok(s)
}

/// `States.JsonMerge`: keys of `b` win; with `deep`, objects present in both merge recursively.
fn merge_into(a: &mut Map<String, Value>, b: &Map<String, Value>, deep: bool) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Object(left)), Value::Object(right)) if deep => merge_into(left, right, true),
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn fail<T>(&self, reason: &str) -> Result<T, String> {
        Err(format!(
            "invalid intrinsic function call `{}` at character {}: {reason}",
            self.text,
            self.pos + 1
        ))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let func = Func::lookup(&name)?;
        self.skip_ws();
        if self.peek() != Some('(') {
            return self.fail(&format!("expected `(` after `{name}`"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.fail("expected `,` or `)`"),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let expected = arity_text(min, max);
            return Err(format!("`{name}` takes {expected} argument(s), not {}", args.len()));
        }
        if func == Func::Format
            && let Some(Arg::Str(raw)) = args.first()
            && placeholders(raw) != args.len() - 1
        {
            return Err(format!(
                "`States.Format` template '{raw}' has {} placeholder(s) but {} value argument(s)",
                placeholders(raw),
                args.len() - 1
            ));
        }
        Ok(Call { name, func, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_ws();
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some('S') => Ok(Arg::Call(Box::new(self.call()?))),
            Some(_) => {
                for (word, arg) in [
                    ("true", Arg::Bool(true)),
                    ("false", Arg::Bool(false)),
                    ("null", Arg::Null),
                ] {
                    let end = self.pos + word.len();
                    if self
                        .chars
                        .get(self.pos..end)
                        .is_some_and(|w| w.iter().copied().eq(word.chars()))
                    {
                        self.pos = end;
                        return Ok(arg);
                    }
                }
                self.fail("expected a 'string', a number, true, false, null, a path or an intrinsic call")
            }
            None => self.fail("unexpected end"),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1; // opening quote
        let start = self.pos;
        loop {
            match self.peek() {
                None => return self.fail("unterminated string literal"),
                Some('\\') => self.pos += 2,
                Some('\'') => {
                    let raw: String = self.chars[start..self.pos].iter().collect();
                    self.pos += 1;
                    return Ok(Arg::Str(raw));
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// A path runs until a `,` or `)` outside brackets and quotes.
    fn path(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some(_), '\\') => self.pos += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ',' | ')') if depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.chars.len());
        let text: String = self.chars[start..end].iter().collect();
        Path::parse(text.trim()).map(Arg::Path)
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match serde_json::from_str::<Number>(&text) {
            Ok(n) => Ok(Arg::Number(n)),
            Err(_) => self.fail(&format!("`{text}` is not a number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::context::ContextObject;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, StateError> {
        let call = Call::parse(text).map_err(|e| StateError::new("ParseError", e))?;
        call.eval(
            &input,
            &Scope::context_only(&ContextObject::of(&json!({"State": {"Name": "S"}}))),
        )
    }

    fn ok(text: &str, input: Value) -> Value {
        match eval(text, input) {
            Ok(v) => v,
            Err(e) => panic!("`{text}` failed: {e:?}"),
        }
    }

    fn failure(text: &str, input: Value) -> StateError {
        match eval(text, input) {
            Ok(v) => panic!("`{text}` returned {v}"),
            Err(e) => e,
        }
    }

    #[test]
    fn format_substitutes_values_in_order() {
        let input = json!({"id": "o-1", "n": 3, "ok": true, "nothing": null});
        assert_eq!(
            ok("States.Format('{}.OrderRejected', $.id)", input.clone()),
            json!("o-1.OrderRejected")
        );
        assert_eq!(
            ok("States.Format('{} x {} is {}/{}', $.n, 2.5, $.ok, $.nothing)", input),
            json!("3 x 2.5 is true/null")
        );
        assert_eq!(
            ok("States.Format('no placeholders')", json!({})),
            json!("no placeholders")
        );
    }

    #[test]
    fn format_honours_escapes() {
        assert_eq!(
            ok(r"States.Format('literal \{\} and {} and it\'s \\ ok', 'v')", json!({})),
            json!(r"literal {} and v and it's \ ok")
        );
    }

    #[test]
    fn format_refuses_objects_and_wrong_placeholder_counts() {
        let e = failure("States.Format('{}', $)", json!({"a": 1}));
        assert_eq!(e.error, "States.IntrinsicFailure");
        assert!(e.cause.contains("not an object"), "{}", e.cause);
        let e = Call::parse("States.Format('{} {}', 'a')").unwrap_err();
        assert!(e.contains("2 placeholder(s) but 1 value argument(s)"), "{e}");
        let e = failure("States.Format($.t, 'a')", json!({"t": "{} {}"}));
        assert_eq!(e.error, "States.IntrinsicFailure");
    }

    #[test]
    fn json_string_round_trip() {
        let input = json!({"event": {"a": [1, "x"], "b": null}, "s": "{\"k\": 2}"});
        assert_eq!(
            ok("States.JsonToString($.event)", input.clone()),
            json!(r#"{"a":[1,"x"],"b":null}"#)
        );
        assert_eq!(ok("States.StringToJson($.s)", input.clone()), json!({"k": 2}));
        assert_eq!(
            ok("States.StringToJson(States.JsonToString($.event))", input),
            json!({"a": [1, "x"], "b": null})
        );
        assert_eq!(
            failure("States.StringToJson('{nope')", json!({})).error,
            "States.IntrinsicFailure"
        );
    }

    #[test]
    fn array_functions() {
        let input = json!({"xs": [1, 2, 2, 3, 4], "name": "n"});
        assert_eq!(
            ok(
                "States.Array('a', 1, $.name, true, null, States.Array())",
                input.clone()
            ),
            json!(["a", 1, "n", true, null, []])
        );
        assert_eq!(ok("States.ArrayLength($.xs)", input.clone()), json!(5));
        assert_eq!(ok("States.ArrayGetItem($.xs, 3)", input.clone()), json!(3));
        assert_eq!(ok("States.ArrayUnique($.xs)", input.clone()), json!([1, 2, 3, 4]));
        assert_eq!(ok("States.ArrayContains($.xs, 4)", input.clone()), json!(true));
        assert_eq!(ok("States.ArrayContains($.xs, 9)", input.clone()), json!(false));
        assert_eq!(
            ok("States.ArrayPartition($.xs, 2)", input.clone()),
            json!([[1, 2], [2, 3], [4]])
        );
        assert_eq!(ok("States.ArrayRange(1, 9, 3)", json!({})), json!([1, 4, 7]));
        assert_eq!(ok("States.ArrayRange(3, 1, -1)", json!({})), json!([3, 2, 1]));
        let e = failure("States.ArrayGetItem($.xs, 5)", input.clone());
        assert_eq!(e.error, "States.IntrinsicFailure");
        assert!(e.cause.contains("outside the array"), "{}", e.cause);
        assert_eq!(
            failure("States.ArrayLength($.name)", input).error,
            "States.IntrinsicFailure"
        );
    }

    #[test]
    fn math_string_merge_and_uuid() {
        assert_eq!(ok("States.MathAdd(111, -1)", json!({})), json!(110));
        assert_eq!(ok("States.MathAdd($.a, 1.6)", json!({"a": 2})), json!(4));
        assert_eq!(
            failure("States.MathAdd('x', 1)", json!({})).error,
            "States.IntrinsicFailure"
        );
        assert_eq!(
            ok("States.StringSplit('a,b+c,,d', ',+')", json!({})),
            json!(["a", "b", "c", "d"])
        );
        assert_eq!(
            ok(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": 1, "y": 1}, "b": {"y": 2}})
            ),
            json!({"x": 1, "y": 2})
        );
        let id = ok("States.UUID()", json!({}));
        let text = id.as_str().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(text).is_ok(), "{id}");
        assert_ne!(ok("States.UUID()", json!({})), id);
    }

    #[test]
    fn paths_in_arguments_read_input_and_context() {
        assert_eq!(
            ok(
                "States.Format('{}-{}', $$.State.Name, $['odd, key'])",
                json!({"odd, key": "k"})
            ),
            json!("S-k")
        );
        let e = failure("States.ArrayLength($.missing)", json!({}));
        assert_eq!(e.error, "States.Runtime");
    }

    #[test]
    fn parse_refusals_name_the_problem() {
        for (text, why) in [
            ("States.Nope(1)", "unknown intrinsic function `States.Nope`"),
            ("States.Hash($.a)", "takes 2 argument(s), not 1"),
            ("States.MathRandom(1)", "argument(s), not 1"),
            ("States.UUID(1)", "takes 0 argument(s), not 1"),
            ("States.ArrayGetItem($.a)", "takes 2 argument(s), not 1"),
            ("States.Array('a'", "expected `,` or `)`"),
            ("States.Array('a) ", "unterminated string literal"),
            ("States.Array(1) x", "unexpected text"),
            ("States.Array(nope)", "expected a 'string'"),
            ("States.Array(1.2.3)", "is not a number"),
        ] {
            match Call::parse(text) {
                Ok(c) => panic!("`{text}` parsed as {c:?}"),
                Err(e) => assert!(e.contains(why), "`{text}`: {e}"),
            }
        }
    }

    // The examples of https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
    // ("Intrinsics for data encoding and decoding", "for hash calculation", "for math operations",
    // "for JSON data manipulation"), with their documented inputs and outputs.
    #[test]
    fn base64_round_trip_as_documented() {
        let input = json!({"input": "Data to encode", "base64": "RGF0YSB0byBlbmNvZGU="});
        assert_eq!(
            ok("States.Base64Encode($.input)", input.clone()),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(ok("States.Base64Decode($.base64)", input), json!("Data to encode"));
        let e = failure("States.Base64Decode('not base64!')", json!({}));
        assert_eq!(e.error, "States.IntrinsicFailure");
        assert!(e.cause.contains("not base64"), "{}", e.cause);
        let long = "x".repeat(10_001);
        let e = failure("States.Base64Encode($.s)", json!({ "s": long }));
        assert!(e.cause.contains("at most 10000"), "{}", e.cause);
    }

    #[test]
    fn hash_supports_every_documented_algorithm() {
        let input = json!({"Data": "input data"});
        for (algorithm, digest) in [
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            (
                "SHA-256",
                "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
            ),
            (
                "SHA-384",
                "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
            ),
            (
                "SHA-512",
                "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
            ),
        ] {
            let text = format!("States.Hash($.Data, '{algorithm}')");
            assert_eq!(ok(&text, input.clone()), json!(digest), "{algorithm}");
        }
        let e = failure("States.Hash($.Data, 'SHA-3')", input);
        assert_eq!(e.error, "States.IntrinsicFailure");
        assert!(e.cause.contains("MD5, SHA-1"), "{}", e.cause);
    }

    #[test]
    fn math_random_stays_in_range_and_a_seed_repeats() {
        let input = json!({"start": 1, "end": 999});
        for _ in 0..200 {
            let n = ok("States.MathRandom($.start, $.end)", input.clone());
            let n = n.as_i64().unwrap_or(-1);
            assert!((1..=999).contains(&n), "{n}");
        }
        let seeded = ok("States.MathRandom($.start, $.end, 1234)", input.clone());
        assert_eq!(ok("States.MathRandom($.start, $.end, 1234)", input.clone()), seeded);
        assert_eq!(ok("States.MathRandom(7, 7)", json!({})), json!(7));
        let e = failure("States.MathRandom(5, 1)", json!({}));
        assert!(e.cause.contains("must not be greater"), "{}", e.cause);
    }

    #[test]
    fn json_merge_deep_and_shallow_as_documented() {
        let input = json!({
            "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
            "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}
        });
        assert_eq!(
            ok("States.JsonMerge($.json1, $.json2, false)", input.clone()),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
        );
        assert_eq!(
            ok("States.JsonMerge($.json1, $.json2, true)", input.clone()),
            json!({"a": {"a1": 1, "a2": 2, "a3": 1, "a4": 2}, "b": 2, "c": 3})
        );
        let e = failure("States.JsonMerge($.json1, $.json2, 'yes')", input);
        assert!(e.cause.contains("must be a boolean"), "{}", e.cause);
    }
}
