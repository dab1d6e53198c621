//! The pipeline's shape, kept: every module of the library belongs to one
//! stage, and a module imports only from its own stage or an earlier one
//! (`docs/architecture.md`, "Modules"). An import from a later stage is how
//! import circles start, so this test also rules out every circle between
//! stages. Test code counts too: a test that needs a later stage lives
//! there.
//!
//! Imports are read from the source text: `crate::x` paths (in `use`, in
//! braces, in expressions) and `super::` chains that climb out of a stage,
//! with comments and string literals left out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The stages, in pipeline order: the shared ground first (`aws`, `ids`),
/// then the data's way from AWS to the places reports go, the plan made
/// from the evidence, then the two orchestrators. `src/lib.rs` only declares and re-exports them; the
/// binary (`src/main.rs`, `src/cli/`) uses the library's public API.
const STAGES: [&str; 13] = [
    "aws",
    "ids",
    "facts",
    "collect",
    "checks",
    "exceptions",
    "findings",
    "history",
    "report",
    "sink",
    "plan",
    "scan",
    "job",
];

/// The binary's own modules, which may use anything the library exports.
const BINARY: [&str; 2] = ["main", "cli"];

#[test]
fn no_module_imports_from_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = module_path(relative);
        let top = module.first().cloned().unwrap_or_default();
        if top == "lib" {
            continue;
        }
        seen.insert(top.clone());
        let text = std::fs::read_to_string(&file).expect("readable source");
        let imported = imports(&code_only(&text), &module);
        if BINARY.contains(&top.as_str()) {
            // `crate::` in the binary is the binary itself.
            for target in imported {
                if !BINARY.contains(&target.as_str()) {
                    violations.push(format!(
                        "{}: the binary names crate::{target}, which is not one of its modules",
                        relative.display()
                    ));
                }
            }
            continue;
        }
        let Some(stage) = rank(&top) else {
            violations.push(format!(
                "{}: module {top} is in no stage: place it in STAGES and in docs/architecture.md",
                relative.display()
            ));
            continue;
        };
        for target in imported {
            match rank(&target) {
                Some(used) if used <= stage => {}
                Some(_) => violations.push(format!(
                    "{}: {top} imports crate::{target}, a later stage",
                    relative.display()
                )),
                None => violations.push(format!(
                    "{}: {top} imports crate::{target}, which is in no stage",
                    relative.display()
                )),
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // A stage named here but gone from src/ would make the list lie.
    for stage in STAGES {
        assert!(
            seen.contains(stage),
            "STAGES names {stage}, which src/ no longer has"
        );
    }
}

#[test]
fn the_reader_sees_every_form_of_import_and_nothing_else() {
    let module = |path: &str| module_path(Path::new(path));
    let found = |code: &str, path: &str| -> Vec<String> {
        imports(&code_only(code), &module(path))
            .into_iter()
            .collect()
    };
    assert_eq!(
        found("use crate::facts::Fetched;", "checks/trails.rs"),
        ["facts"]
    );
    assert_eq!(
        found(
            "use crate::{aws::api::Api, ids::{A, B}};\nfn f() { crate::report::x(); }",
            "sink/mod.rs"
        ),
        ["aws", "ids", "report"]
    );
    // `super::` that climbs out of the stage names a stage; within, nothing.
    assert_eq!(
        found("use super::super::findings::Row;", "history/diff.rs"),
        ["findings"]
    );
    assert_eq!(
        found("use super::super::findings::Row;", "history/diff/rows.rs"),
        Vec::<String>::new()
    );
    assert_eq!(
        found("use super::findings::Row;", "history/mod.rs"),
        ["findings"]
    );
    // An inline module is one more level to climb.
    assert_eq!(
        found(
            "mod tests {\n use super::super::report::x;\n}",
            "history/diff.rs"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        found(
            "mod tests {\n use super::super::super::report::x;\n}",
            "history/diff.rs"
        ),
        ["report"]
    );
    // Comments and strings are not imports.
    assert_eq!(
        found(
            "// crate::report\n/* crate::sink */\nlet s = \"crate::job\";\nlet r = r#\"crate::scan\"#;",
            "checks/x.rs"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        found("pub(crate) fn f() {}", "checks/x.rs"),
        Vec::<String>::new()
    );
    // The ranks decide.
    assert!(rank("collect") < rank("checks"));
    assert!(rank("findings") < rank("history") && rank("history") < rank("report"));
}

fn rank(stage: &str) -> Option<usize> {
    STAGES.iter().position(|s| *s == stage)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `checks/trails.rs` → `[checks, trails]`; `checks/mod.rs` → `[checks]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The text with comments and string and char literals blanked out.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let at = i;
        let rest = |n: usize| chars.get(at + n).copied();
        match chars[i] {
            '/' if rest(1) == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if rest(1) == Some('*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && rest(1) == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && rest(1) == Some('/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            'r' if matches!(rest(1), Some('#') | Some('"'))
                && !chars
                    .get(i.wrapping_sub(1))
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_') =>
            {
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(chars[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    match chars.get(j) {
                        None => break,
                        Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                            j += 1 + hashes;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                out.push_str("\"\"");
                i = j;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal, not a lifetime: `'x'`, `'\n'`, `'\u{1b}'`.
            '\'' if rest(2) == Some('\'') || rest(1) == Some('\\') => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The top-level modules `code` (of the file whose module path is
/// `module`) names through `crate::` or a `super::` chain that leaves the
/// crate root's children, other than the file's own.
fn imports(code: &str, module: &[String]) -> BTreeSet<String> {
    let tokens = tokens(code);
    let mut found = BTreeSet::new();
    // Inline modules (`mod tests { … }`) open one level each.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        match token {
            "{" => {
                depth += 1;
                if i >= 2 && tokens[i - 2] == "mod" {
                    inline.push(depth);
                }
            }
            "}" => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "crate" if tokens.get(i + 1).is_some_and(|t| t == "::") => {
                found.extend(roots_after(&tokens, i + 2));
            }
            "super" if i == 0 || tokens[i - 1] != "::" => {
                let mut level = module.len() + inline.len();
                let mut j = i;
                while tokens.get(j).is_some_and(|t| t == "super")
                    && tokens.get(j + 1).is_some_and(|t| t == "::")
                {
                    level = level.saturating_sub(1);
                    j += 2;
                }
                if j == i {
                    // `pub(super)`, not a path.
                    i += 1;
                    continue;
                }
                if level == 0 {
                    found.extend(roots_after(&tokens, j));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(own) = module.first() {
        found.remove(own);
    }
    found
}

/// The first path segment at `at`, or each of a `{…}` group's.
fn roots_after(tokens: &[String], at: usize) -> Vec<String> {
    match tokens.get(at).map(String::as_str) {
        Some("{") => {
            let mut roots = Vec::new();
            let mut depth = 0;
            let mut expect_root = true;
            for token in &tokens[at..] {
                match token.as_str() {
                    "{" => {
                        depth += 1;
                        expect_root = depth == 1;
                    }
                    "}" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    "," if depth == 1 => expect_root = true,
                    name if expect_root && depth == 1 => {
                        if name != "self" && name != "*" {
                            roots.push(name.to_string());
                        }
                        expect_root = false;
                    }
                    _ => {}
                }
            }
            roots
        }
        Some(name) if name.chars().all(|c| c.is_alphanumeric() || c == '_') => {
            vec![name.to_string()]
        }
        _ => Vec::new(),
    }
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}
