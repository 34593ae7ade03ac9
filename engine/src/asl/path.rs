//! Paths: JSONPath reads and reference-path writes.
//!
//! Hand-written rather than a JSONPath crate because we need three things a general crate
//! does not give together: the `$$` context root; Step Functions' rule that a *definite*
//! path (only fields and indexes) yields one value or fails, while an indefinite one
//! (wildcards, slices, unions, `..`) yields an array of matches; and writes through
//! reference paths (`ResultPath`), which create intermediate objects. Paths are parsed once
//! at load time, so syntax errors and unsupported features (filters, functions) are
//! refused there with a message.

use serde_json::{Map, Value};

/// Which document a path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable set by an earlier state's `Assign`.
    Variable(String),
}

/// What a path may read besides the value it is applied to: the `$$` context object and the
/// variables in scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) context: &'a Value,
    pub(crate) vars: &'a Map<String, Value>,
    /// JSONata's `$states.input`, where it is not the value an expression is given (in
    /// `Output` and `Assign`, which see the state's input beside its result).
    pub(crate) input: Option<&'a Value>,
    /// JSONata's `$states.result`: in `Output` and `Assign` after a Task, Parallel or Map.
    pub(crate) result: Option<&'a Value>,
    /// JSONata's `$states.errorOutput`: in a Catcher's `Output` and `Assign`.
    pub(crate) error_output: Option<&'a Value>,
}

/// No variables: for evaluation that happens before any exist (and for tests).
#[cfg(test)]
pub(crate) static NO_VARS: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Scope<'a> {
    pub(crate) fn new(context: &'a Value, vars: &'a Map<String, Value>) -> Self {
        Scope {
            context,
            vars,
            input: None,
            result: None,
            error_output: None,
        }
    }

    /// The scope of `Output` and `Assign`: the state's input beside its result.
    pub(crate) fn with_result(self, input: &'a Value, result: &'a Value) -> Self {
        Scope {
            input: Some(input),
            result: Some(result),
            ..self
        }
    }

    /// The scope of a Catcher's `Output` and `Assign`: the state's input beside the error.
    pub(crate) fn with_error(self, input: &'a Value, error_output: &'a Value) -> Self {
        Scope {
            input: Some(input),
            error_output: Some(error_output),
            ..self
        }
    }

    #[cfg(test)]
    pub(crate) fn context_only(context: &'a Value) -> Self {
        Scope::new(context, &NO_VARS)
    }
}

/// A variable name as AWS allows it: a letter or `_`, then letters, digits and `_`.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// What one path segment selects from a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    /// `.name` or `['name']`.
    Name(String),
    /// `[3]`, `[-1]` (from the end).
    Index(i64),
    /// `.*` or `[*]`: every member or element.
    Wildcard,
    /// `['a','b']`.
    Names(Vec<String>),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[start:end:step]`, Python-style; step must be positive.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    /// `..`: apply the selector to the node and all its descendants.
    pub(crate) recursive: bool,
    pub(crate) selector: Selector,
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

/// Why a path failed to read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the JSONPath `{path}` could not be found in the input")]
pub(crate) struct NoMatch {
    pub(crate) path: String,
}

impl Path {
    /// Parses `text`. The error is a reason suitable for a `LoadError`.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        Parser::new(text).parse()
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Only fields and indexes: the path names at most one node.
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| !s.recursive && matches!(s.selector, Selector::Name(_) | Selector::Index(_)))
    }

    /// Reads the path. A definite path yields the one value it names, or [`NoMatch`]; an
    /// indefinite one yields the array of everything it matched (possibly empty).
    pub(crate) fn read(&self, input: &Value, scope: &Scope<'_>) -> Result<Value, NoMatch> {
        let root = match &self.root {
            Root::Input => input,
            Root::Context => scope.context,
            Root::Variable(name) => scope.vars.get(name).ok_or_else(|| NoMatch {
                path: self.text.clone(),
            })?,
        };
        let mut nodes = vec![root];
        for segment in &self.segments {
            let mut next = Vec::new();
            for node in nodes {
                if segment.recursive {
                    let mut all = Vec::new();
                    descendants_and_self(node, &mut all);
                    for n in all {
                        select(n, &segment.selector, &mut next);
                    }
                } else {
                    select(node, &segment.selector, &mut next);
                }
            }
            nodes = next;
        }
        if self.is_definite() {
            nodes.first().map(|v| (*v).clone()).ok_or_else(|| NoMatch {
                path: self.text.clone(),
            })
        } else {
            Ok(Value::Array(nodes.into_iter().cloned().collect()))
        }
    }
}

fn descendants_and_self<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Object(map) => map.values().for_each(|v| descendants_and_self(v, out)),
        Value::Array(items) => items.iter().for_each(|v| descendants_and_self(v, out)),
        _ => {}
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 { len + index } else { index };
    if (0..len).contains(&i) {
        usize::try_from(i).ok()
    } else {
        None
    }
}

fn select<'a>(node: &'a Value, selector: &Selector, out: &mut Vec<&'a Value>) {
    match (selector, node) {
        (Selector::Name(name), Value::Object(map)) => out.extend(map.get(name)),
        (Selector::Names(names), Value::Object(map)) => out.extend(names.iter().filter_map(|n| map.get(n))),
        (Selector::Index(i), Value::Array(items)) => {
            out.extend(resolve_index(*i, items.len()).and_then(|i| items.get(i)))
        }
        (Selector::Indexes(is), Value::Array(items)) => out.extend(
            is.iter()
                .filter_map(|i| resolve_index(*i, items.len()).and_then(|i| items.get(i))),
        ),
        (Selector::Wildcard, Value::Object(map)) => out.extend(map.values()),
        (Selector::Wildcard, Value::Array(items)) => out.extend(items.iter()),
        (Selector::Slice { start, end, step }, Value::Array(items)) => {
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
            let from = start.map_or(0, clamp);
            let to = end.map_or(len, clamp);
            let mut i = from;
            while i < to {
                if let Some(item) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    out.push(item);
                }
                i = i.saturating_add(*step);
            }
        }
        _ => {}
    }
}

/// A reference path (`ResultPath`): `$` followed by fields and indexes only. It names one
/// place in the input, which writing creates if needed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReferencePath(Path);

impl ReferencePath {
    pub(crate) fn parse(text: &str) -> Result<ReferencePath, String> {
        let path = Path::parse(text)?;
        if path.root != Root::Input {
            return Err(format!(
                "`{text}` must be a reference path starting with `$`, not the context object `$$` or a variable"
            ));
        }
        if !path.is_definite() {
            return Err(format!(
                "`{text}` must be a reference path (only `.field`, `['field']` and `[index]`)"
            ));
        }
        Ok(ReferencePath(path))
    }

    pub(crate) fn text(&self) -> &str {
        self.0.text()
    }

    /// Returns `target` with `value` placed at this path. Missing intermediate fields
    /// become objects; an existing non-object field, or an index outside an existing
    /// array, cannot be written through (the cause is returned).
    pub(crate) fn write(&self, mut target: Value, value: Value) -> Result<Value, String> {
        if self.0.segments.is_empty() {
            return Ok(value);
        }
        write_at(&mut target, &self.0.segments, value, "$")?;
        Ok(target)
    }
}

fn write_at(node: &mut Value, segments: &[Segment], value: Value, here: &str) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *node = value;
        return Ok(());
    };
    match (&first.selector, node) {
        (Selector::Name(name), Value::Object(map)) => {
            let child = map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
            write_at(child, rest, value, &format!("{here}.{name}"))
        }
        (Selector::Index(i), Value::Array(items)) => {
            let len = items.len();
            match resolve_index(*i, len).and_then(|idx| items.get_mut(idx)) {
                Some(child) => write_at(child, rest, value, &format!("{here}[{i}]")),
                None => Err(format!("index {i} is outside the array at `{here}` (length {len})")),
            }
        }
        (Selector::Name(name), other) => Err(format!(
            "cannot set field `{name}`: `{here}` is {}, not an object",
            kind_of(other)
        )),
        (Selector::Index(i), other) => Err(format!(
            "cannot set index {i}: `{here}` is {}, not an array",
            kind_of(other)
        )),
        _ => Err("a reference path has only fields and indexes".to_string()),
    }
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn fail<T>(&self, reason: &str) -> Result<T, String> {
        Err(format!(
            "invalid path `{}` at character {}: {reason}",
            self.text,
            self.pos + 1
        ))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn parse(mut self) -> Result<Path, String> {
        let root = match (self.peek(), self.peek_at(1)) {
            (Some('$'), Some('$')) => {
                self.pos = 2;
                Root::Context
            }
            (Some('$'), Some(c)) if c.is_alphabetic() || c == '_' => {
                let start = 1;
                let mut end = start;
                while self.peek_at(end).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    end += 1;
                }
                let name: String = self.chars[start..end].iter().collect();
                self.pos = end;
                Root::Variable(name)
            }
            (Some('$'), _) => {
                self.pos = 1;
                Root::Input
            }
            _ => {
                return self
                    .fail("a path must begin with `$` (or `$$` for the context object, `$name` for a variable)");
            }
        };
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            let segment = match c {
                '.' => {
                    self.pos += 1;
                    let recursive = self.peek() == Some('.');
                    if recursive {
                        self.pos += 1;
                    }
                    match self.peek() {
                        Some('*') => {
                            self.pos += 1;
                            Segment {
                                recursive,
                                selector: Selector::Wildcard,
                            }
                        }
                        Some('[') if recursive => Segment {
                            recursive,
                            selector: self.bracket()?,
                        },
                        _ => Segment {
                            recursive,
                            selector: Selector::Name(self.dotted_name()?),
                        },
                    }
                }
                '[' => Segment {
                    recursive: false,
                    selector: self.bracket()?,
                },
                _ => return self.fail(&format!("unexpected `{c}`; expected `.` or `[`")),
            };
            segments.push(segment);
        }
        Ok(Path {
            text: self.text.to_string(),
            root,
            segments,
        })
    }

    fn dotted_name(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' {
                break;
            }
            if c.is_whitespace() || "]*'\"?@(),".contains(c) {
                if c == '(' {
                    return self.fail("JSONPath functions are not supported");
                }
                return self.fail(&format!("`{c}` is not allowed in a field name; use ['...']"));
            }
            self.pos += 1;
        }
        if self.pos == start {
            return self.fail("empty field name");
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    /// Parses `[...]`, starting at `[`.
    fn bracket(&mut self) -> Result<Selector, String> {
        self.pos += 1; // '['
        self.skip_ws();
        let selector = match self.peek() {
            Some('?') => return self.fail("filter expressions are not supported"),
            Some('(') => return self.fail("script expressions are not supported"),
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('\'') | Some('"') => {
                let mut names = vec![self.quoted()?];
                self.skip_ws();
                while self.peek() == Some(',') {
                    self.pos += 1;
                    self.skip_ws();
                    names.push(self.quoted()?);
                    self.skip_ws();
                }
                if names.len() == 1 {
                    Selector::Name(names.remove(0))
                } else {
                    Selector::Names(names)
                }
            }
            _ => self.indexes_or_slice()?,
        };
        self.skip_ws();
        if self.peek() != Some(']') {
            return self.fail("expected `]`");
        }
        self.pos += 1;
        Ok(selector)
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return self.fail("expected a quoted name");
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.fail("unterminated quoted name"),
                Some('\\') => {
                    let Some(escaped) = self.peek_at(1) else {
                        return self.fail("unterminated escape");
                    };
                    out.push(escaped);
                    self.pos += 2;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits: String = self.chars[start..self.pos].iter().collect();
        self.skip_ws();
        if digits.is_empty() {
            return Ok(None);
        }
        match digits.parse::<i64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => self.fail(&format!("`{digits}` is not an integer index")),
        }
    }

    fn indexes_or_slice(&mut self) -> Result<Selector, String> {
        let first = self.integer()?;
        if self.peek() == Some(':') {
            self.pos += 1;
            let end = self.integer()?;
            let mut step = 1;
            if self.peek() == Some(':') {
                self.pos += 1;
                step = self.integer()?.unwrap_or(1);
                if step <= 0 {
                    return self.fail("slice steps must be positive");
                }
            }
            return Ok(Selector::Slice {
                start: first,
                end,
                step,
            });
        }
        let Some(first) = first else {
            return self.fail("expected an index, a slice, `*` or a quoted name");
        };
        let mut indexes = vec![first];
        while self.peek() == Some(',') {
            self.pos += 1;
            match self.integer()? {
                Some(i) => indexes.push(i),
                None => return self.fail("expected an index after `,`"),
            }
        }
        Ok(if indexes.len() == 1 {
            Selector::Index(first)
        } else {
            Selector::Indexes(indexes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(path: &str, input: &Value) -> Result<Value, NoMatch> {
        let ctx = json!({"State": {"Name": "S"}});
        let vars = json!({"order": {"total": 4.5}, "n": 2});
        let vars = vars.as_object().cloned().unwrap_or_default();
        Path::parse(path)
            .map_err(|e| NoMatch { path: e })?
            .read(input, &Scope::new(&ctx, &vars))
    }

    fn doc() -> Value {
        json!({
            "a": {"b": {"c": 1}},
            "items": [{"id": 1, "n": "x"}, {"id": 2, "n": "y"}, {"id": 3}],
            "odd key": "spaced",
            "quo'te": "q",
            "n": null
        })
    }

    #[test]
    fn reads_root_fields_and_nested_fields() {
        assert_eq!(read("$", &doc()), Ok(doc()));
        assert_eq!(read("$.a.b.c", &doc()), Ok(json!(1)));
        assert_eq!(read("$.a.b", &doc()), Ok(json!({"c": 1})));
        assert_eq!(read("$.n", &doc()), Ok(Value::Null));
    }

    #[test]
    fn reads_indexes_including_negative() {
        assert_eq!(read("$.items[0].id", &doc()), Ok(json!(1)));
        assert_eq!(read("$.items[-1]", &doc()), Ok(json!({"id": 3})));
        assert!(read("$.items[3]", &doc()).is_err());
        assert!(read("$.a[0]", &doc()).is_err());
    }

    #[test]
    fn reads_bracketed_names_with_quotes_and_escapes() {
        assert_eq!(read("$['a']['b']", &doc()), Ok(json!({"c": 1})));
        assert_eq!(read("$[\"odd key\"]", &doc()), Ok(json!("spaced")));
        assert_eq!(read("$['quo\\'te']", &doc()), Ok(json!("q")));
    }

    #[test]
    fn reads_the_context_object() {
        assert_eq!(read("$$.State.Name", &json!({})), Ok(json!("S")));
        assert_eq!(read("$$", &json!({})), Ok(json!({"State": {"Name": "S"}})));
    }

    #[test]
    fn indefinite_paths_yield_arrays() {
        assert_eq!(read("$.items[*].id", &doc()), Ok(json!([1, 2, 3])));
        assert_eq!(read("$.items[*].n", &doc()), Ok(json!(["x", "y"])));
        assert_eq!(read("$.items[0:2].id", &doc()), Ok(json!([1, 2])));
        assert_eq!(read("$.items[::2].id", &doc()), Ok(json!([1, 3])));
        assert_eq!(read("$.items[-2:].id", &doc()), Ok(json!([2, 3])));
        assert_eq!(read("$.items[0,2].id", &doc()), Ok(json!([1, 3])));
        assert_eq!(read("$..id", &doc()), Ok(json!([1, 2, 3])));
        assert_eq!(read("$.a.*", &doc()), Ok(json!([{"c": 1}])));
        assert_eq!(read("$['a','odd key']", &doc()), Ok(json!([{"b": {"c": 1}}, "spaced"])));
        assert_eq!(read("$.missing[*]", &doc()), Ok(json!([])));
    }

    #[test]
    fn a_definite_path_that_matches_nothing_fails() {
        assert_eq!(read("$.a.x", &doc()), Err(NoMatch { path: "$.a.x".into() }));
        assert!(read("$.a.b.c.d", &doc()).is_err());
    }

    #[test]
    fn syntax_errors_and_unsupported_features_are_refused() {
        for (bad, why) in [
            ("a.b", "must begin with `$`"),
            ("", "must begin with `$`"),
            ("$.", "empty field name"),
            ("$.a[", "expected an index"),
            ("$.a[0", "expected `]`"),
            ("$.a['x]", "unterminated"),
            ("$.items[?(@.id > 1)]", "filter expressions are not supported"),
            ("$.items.length()", "functions are not supported"),
            ("$.a b", "not allowed in a field name"),
            ("$-x", "unexpected `-`"),
            ("$.a[1:2:0]", "slice steps must be positive"),
        ] {
            match Path::parse(bad) {
                Ok(p) => panic!("`{bad}` parsed as {p:?}"),
                Err(e) => assert!(e.contains(why), "`{bad}`: {e}"),
            }
        }
    }

    #[test]
    fn reference_paths_write_and_create_intermediate_objects() {
        let write =
            |path: &str, target: Value, value: Value| ReferencePath::parse(path).and_then(|p| p.write(target, value));
        assert_eq!(write("$", json!({"a": 1}), json!(2)), Ok(json!(2)));
        assert_eq!(write("$.b", json!({"a": 1}), json!(2)), Ok(json!({"a": 1, "b": 2})));
        assert_eq!(write("$.a", json!({"a": 1}), json!(2)), Ok(json!({"a": 2})));
        assert_eq!(
            write("$.x.y['z z']", json!({"a": 1}), json!(true)),
            Ok(json!({"a": 1, "x": {"y": {"z z": true}}}))
        );
        assert_eq!(
            write("$.l[1].v", json!({"l": [{}, {"w": 0}]}), json!(3)),
            Ok(json!({"l": [{}, {"w": 0, "v": 3}]}))
        );
        assert_eq!(
            write("$.l[-1]", json!({"l": [1, 2]}), json!(9)),
            Ok(json!({"l": [1, 9]}))
        );
    }

    #[test]
    fn reference_path_writes_that_cannot_apply_fail_with_a_cause() {
        let write = |path: &str, target: Value| ReferencePath::parse(path).and_then(|p| p.write(target, json!(1)));
        let err = write("$.a.b", json!({"a": "text"})).unwrap_err();
        assert!(err.contains("`$.a` is a string, not an object"), "{err}");
        assert!(write("$.a", json!("scalar")).unwrap_err().contains("`$` is a string"));
        assert!(
            write("$.l[5]", json!({"l": []}))
                .unwrap_err()
                .contains("outside the array")
        );
        assert!(write("$.l[0]", json!({})).unwrap_err().contains("not an array"));
    }

    #[test]
    fn reference_paths_refuse_indefinite_and_context_paths() {
        assert!(ReferencePath::parse("$.a[*]").unwrap_err().contains("reference path"));
        assert!(ReferencePath::parse("$..a").unwrap_err().contains("reference path"));
        assert!(ReferencePath::parse("$$.State").unwrap_err().contains("context object"));
    }
}
