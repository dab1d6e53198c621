//! Text from AWS in plan.md: as plain text (every character markdown or
//! HTML could read as syntax escaped), as a code span, or in a fenced
//! block, so that a name like `<img onerror=…>` or `[x](javascript:…)`
//! stays text in any renderer.

/// `value` as markdown text within a line (never at its start, where
/// `#`, `-` or `1.` would matter; plan.md always puts a label first): the
/// punctuation that opens emphasis, links, code, tables, strikethrough or
/// math is backslash-escaped, `&`, `<` and `>` become character references
/// (raw HTML passes through markdown), and control characters become
/// spaces. Readable as plain text too: ARNs keep their `:` and `/`.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `value` as an inline code span: a backtick fence longer than any run
/// of backticks inside, padded when the value starts or ends with one.
/// Inside a code span nothing is markup; line breaks become spaces.
pub fn code(value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let fence = "`".repeat(longest_run(&value, '`') + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') || value.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}

/// `body` as a fenced code block: a tilde fence longer than any run of
/// tildes inside, so that no line of the body can close it.
pub fn block(info: &str, body: &str) -> String {
    let fence = "~".repeat((longest_run(body, '~') + 1).max(3));
    let body = body.trim_end_matches('\n');
    format!("{fence}{info}\n{body}\n{fence}\n")
}

fn longest_run(value: &str, of: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        if c == of {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_and_html() {
        assert_eq!(
            text("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            text("[click](javascript:alert(1))"),
            "\\[click\\](javascript:alert(1))"
        );
        assert_eq!(text("a\n*b*_c_"), "a \\*b\\*\\_c\\_");
        assert_eq!(
            text("arn:aws:iam::111122223333:role/x"),
            "arn:aws:iam::111122223333:role/x"
        );
        assert_eq!(text("prod | x"), "prod \\| x");
        assert_eq!(text("Zürich 東京"), "Zürich 東京");
    }

    #[test]
    fn code_spans_outlast_backticks_inside() {
        assert_eq!(code("default"), "`default`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\nb"), "`a b`");
    }

    #[test]
    fn blocks_outlast_tildes_inside() {
        assert_eq!(block("sh", "ls\n"), "~~~sh\nls\n~~~\n");
        assert_eq!(block("", "~~~~\nx"), "~~~~~\n~~~~\nx\n~~~~~\n");
    }
}
