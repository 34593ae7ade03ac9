//! Where in the file a load error is: line and column of the field it names, in the text as
//! written (before `${…}` substitution, which only ever changes string contents).
//!
//! Hand-written because serde_json reports positions only for syntax errors, not for the
//! values it parsed; this scanner records the position of every member and element once, and
//! [`LoadError::locate`] follows the error's state and field through them.

use std::collections::HashMap;

use super::errors::LoadError;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// JSON pointer (as segments) → where that member's key, or that element, starts.
type Index = HashMap<Vec<String>, Position>;

/// Deeper documents than this are not indexed (the loader refuses nothing for depth, but a
/// hostile file must not overflow the stack here).
const MAX_DEPTH: usize = 128;

struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
    index: Index,
}

impl Scanner<'_> {
    fn here(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.bump()? != '"' {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => match self.bump()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                        out.push(
                            u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .unwrap_or('\u{fffd}'),
                        );
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }

    fn value(&mut self, path: &mut Vec<String>) -> Option<()> {
        if path.len() > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.chars.peek()? {
            '{' => {
                self.bump();
                loop {
                    self.ws();
                    if self.chars.peek() == Some(&'}') {
                        self.bump();
                        return Some(());
                    }
                    let at = self.here();
                    let key = self.string()?;
                    path.push(key);
                    self.index.entry(path.clone()).or_insert(at);
                    self.ws();
                    if self.bump()? != ':' {
                        return None;
                    }
                    self.value(path)?;
                    path.pop();
                    self.ws();
                    match self.bump()? {
                        ',' => continue,
                        '}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            '[' => {
                self.bump();
                let mut i = 0usize;
                loop {
                    self.ws();
                    if self.chars.peek() == Some(&']') {
                        self.bump();
                        return Some(());
                    }
                    path.push(i.to_string());
                    let at = self.here();
                    self.index.entry(path.clone()).or_insert(at);
                    self.value(path)?;
                    path.pop();
                    i += 1;
                    self.ws();
                    match self.bump()? {
                        ',' => continue,
                        ']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            '"' => self.string().map(|_| ()),
            _ => {
                while self
                    .chars
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace())
                {
                    self.bump();
                }
                Some(())
            }
        }
    }
}

/// Positions of every member and element of `text`, as far as it is well-formed JSON.
fn index(text: &str) -> Index {
    let mut s = Scanner {
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
        index: HashMap::new(),
    };
    let _ = s.value(&mut Vec::new());
    s.index
}

/// Follows a field as errors write it (`Retry[0].ErrorEquals`, `Parameters.a.b.$`) from
/// `base`, taking at each step the longest key that exists, since keys may hold dots.
fn follow(index: &Index, base: &mut Vec<String>, field: &str) {
    let mut rest = field;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(after) = rest.strip_prefix('[')
            && let Some(end) = after.find(']')
        {
            base.push(after[..end].to_string());
            rest = &after[end + 1..];
            continue;
        }
        let cuts: Vec<usize> = rest
            .char_indices()
            .filter(|(_, c)| matches!(c, '.' | '['))
            .map(|(i, _)| i)
            .chain([rest.len()])
            .collect();
        let found = cuts.iter().rev().find(|&&cut| {
            let mut p = base.clone();
            p.push(rest[..cut].to_string());
            index.contains_key(&p)
        });
        match found {
            Some(&cut) => {
                base.push(rest[..cut].to_string());
                rest = &rest[cut..];
            }
            None => return,
        }
    }
}

/// The JSON pointer an error's `at` names: `the definition`, `state `S``, or a state inside
/// branches, `state `S`, Branches[0] › state `A``.
fn pointer_of_at(index: &Index, at: &str) -> Vec<String> {
    let mut pointer = Vec::new();
    if at == "the definition" {
        return pointer;
    }
    for part in at.split(" › ") {
        let Some(named) = part.strip_prefix("state `") else {
            break;
        };
        let (name, field) = match named.find("`, ") {
            Some(end) => (&named[..end], Some(&named[end + 3..])),
            None => (named.strip_suffix('`').unwrap_or(named), None),
        };
        pointer.push("States".to_string());
        pointer.push(name.to_string());
        if let Some(field) = field {
            follow(index, &mut pointer, field);
        }
    }
    pointer
}

impl LoadError {
    /// Where in `text` (the file as written) this error is: the field it names, or the
    /// nearest enclosing member that exists. `None` for errors about the whole text.
    pub fn locate(&self, text: &str) -> Option<Position> {
        let (at, field) = match self {
            LoadError::Invalid { at, field, .. }
            | LoadError::Unsupported { at, field, .. }
            | LoadError::UnknownField { at, field } => (at, field.as_str()),
            LoadError::UnsupportedResource { at, .. } => (at, "Resource"),
            LoadError::Json(_) | LoadError::MissingSubstitution { .. } => return None,
        };
        let index = index(text);
        let mut pointer = pointer_of_at(&index, at);
        follow(&index, &mut pointer, field);
        while !pointer.is_empty() {
            if let Some(p) = index.get(&pointer) {
                return Some(*p);
            }
            pointer.pop();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::AnyResource;
    use crate::asl::StateMachine;
    use std::collections::BTreeMap;

    fn first_problem(text: &str) -> (String, Option<Position>) {
        let errors = StateMachine::validate(text, None, &AnyResource);
        let e = errors.first().cloned().unwrap_or(LoadError::Json("no problem".into()));
        (e.to_string(), e.locate(text))
    }

    #[test]
    fn errors_point_at_the_field_in_the_file_as_written() {
        let text = r#"{
  "StartAt": "T",
  "States": {
    "T": {
      "Type": "Task",
      "Resource": "${SomeFunctionArn}",
      "Retry": [
        {"ErrorEquals": ["States.Nope"]}
      ],
      "End": true
    }
  }
}"#;
        let (message, at) = first_problem(text);
        assert!(
            message.contains("`States.Nope` is not a predefined error name"),
            "{message}"
        );
        assert_eq!(at, Some(Position { line: 8, column: 10 }));
        // Substitution does not move it: the positions are those of the text as written.
        let subs = BTreeMap::from([(
            "SomeFunctionArn".to_string(),
            "arn:aws:lambda:us-east-1:123456789012:function:a-much-longer-name".to_string(),
        )]);
        let e = StateMachine::load(text, &subs, &AnyResource).err();
        assert_eq!(e.and_then(|e| e.locate(text)), Some(Position { line: 8, column: 10 }));
    }

    #[test]
    fn keys_with_dots_and_states_in_branches_are_found() {
        let text = r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
  {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
     "Parameters": {"x": {"y.$": "States.Nope()"}}}}}
]}}}"#;
        let (message, at) = first_problem(text);
        assert!(
            message.contains("Branches[0] › state `A`, field `Parameters.x.y.$`"),
            "{message}"
        );
        assert_eq!(at, Some(Position { line: 3, column: 27 }));
    }

    #[test]
    fn a_missing_field_points_at_its_state_and_hostile_depth_does_not_overflow() {
        let text = "{\"StartAt\": \"S\",\n \"States\": {\"S\": {\"Type\": \"Pass\"}}}";
        let (message, at) = first_problem(text);
        assert!(message.contains("needs `Next`"), "{message}");
        assert_eq!(at, Some(Position { line: 2, column: 13 }));
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(index(&deep).len(), MAX_DEPTH + 1);
    }
}
