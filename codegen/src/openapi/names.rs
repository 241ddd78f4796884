//! Turning contract names into Rust names.

/// Words of a name: split at anything not alphanumeric and where a lower-case letter or digit
/// is followed by an upper-case one (`firstName`, `HTTPServer` → `HTTP`, `Server`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = index.checked_sub(1).map(|i| chars[i]);
        let next = chars.get(index + 1);
        let boundary = c.is_uppercase()
            && !current.is_empty()
            && (previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (previous.is_some_and(char::is_uppercase)
                    && next.is_some_and(|n| n.is_lowercase())));
        if boundary {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `Needs improvement` → `NeedsImprovement`, `list_persons` → `ListPersons`.
pub fn pascal_case(name: &str) -> String {
    let mut out = String::new();
    for word in words(name) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            let rest: String = chars.collect();
            if rest.chars().any(char::is_lowercase) {
                out.push_str(&rest);
            } else {
                out.push_str(&rest.to_lowercase());
            }
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// `firstName` → `first_name`, `PersonInput` → `person_input`.
pub fn snake_case(name: &str) -> String {
    let mut out = words(name)
        .iter()
        .map(|word| word.to_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A snake-case name usable as a Rust identifier (`type` → `r#type`).
pub fn field_ident(name: &str) -> String {
    let snake = snake_case(name);
    match snake.as_str() {
        "self" | "super" | "crate" | "Self" => format!("{snake}_"),
        "as" | "async" | "await" | "break" | "const" | "continue" | "dyn" | "else" | "enum"
        | "extern" | "false" | "fn" | "for" | "gen" | "if" | "impl" | "in" | "let" | "loop"
        | "match" | "mod" | "move" | "mut" | "pub" | "ref" | "return" | "static" | "struct"
        | "trait" | "true" | "type" | "unsafe" | "use" | "where" | "while" | "abstract"
        | "become" | "box" | "do" | "final" | "macro" | "override" | "priv" | "try" | "typeof"
        | "unsized" | "virtual" | "yield" => format!("r#{snake}"),
        _ => snake,
    }
}

/// The name serde sees for a field identifier (`r#type` → `type`).
pub fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// A JSON pointer from unescaped tokens (RFC 6901).
pub fn pointer<I, S>(tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    tokens
        .into_iter()
        .map(|token| format!("/{}", token.as_ref().replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// `pointer` extended by one token.
pub fn child(at: &str, token: &str) -> String {
    format!("{at}{}", pointer([token]))
}

/// A Rust string literal.
pub fn literal(text: &str) -> String {
    format!("{text:?}")
}

/// Doc-comment lines (`/// ...`) for a description, or none.
pub fn doc_lines(text: Option<&str>) -> Vec<String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            lines.push("///".to_string());
            continue;
        }
        // Wrapped so that a doc comment indented by one level stays within 100 columns; the
        // continuation of a Markdown list item is indented under its text.
        let marker = line.trim_start();
        let indent = line.len() - marker.len()
            + if marker.starts_with("- ") || marker.starts_with("* ") || marker.starts_with("+ ") {
                2
            } else {
                marker
                    .split_once(". ")
                    .filter(|(number, _)| {
                        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
                    })
                    .map_or(0, |(number, _)| number.len() + 2)
            };
        let continuation = format!("///{}", " ".repeat(indent));
        let mut current = String::from("///");
        for word in line.split_whitespace() {
            if current.len() > 3 && current.len() + 1 + word.len() > 92 {
                lines.push(std::mem::replace(&mut current, continuation.clone()));
            }
            current.push(' ');
            current.push_str(word);
        }
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(pascal_case("Needs improvement"), "NeedsImprovement");
        assert_eq!(pascal_case("list_persons"), "ListPersons");
        assert_eq!(pascal_case("ok"), "Ok");
        assert_eq!(pascal_case("ACTIVE"), "Active");
        assert_eq!(pascal_case("PersonInput"), "PersonInput");
        assert_eq!(pascal_case("2fa"), "V2fa");
        assert_eq!(snake_case("firstName"), "first_name");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("first-name"), "first_name");
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(
            pointer(["paths", "/api/persons/", "get"]),
            "/paths/~1api~1persons~1/get"
        );
    }
}
